/* uoad/notify.h: the seccomp listeners, and answering a notification
 * (uoad/notify.c). */
#pragma once

#include <linux/seccomp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/policy.h"

/* uoad.h embeds this header's state in struct uoad, so it only names it. */
typedef struct uoad uoad;
typedef struct listener listener;
typedef struct notif notif;

/* The listeners and the policy the workers decide with (d->notify). */
typedef struct notify_listeners {
        size_t req_size, resp_size; /* what the kernel says (SECCOMP_GET_NOTIF_SIZES) */
        /* Every registered listener, under lock (the workers remove the ones
         * whose processes have all exited; the loop adds and hands over). */
        pthread_mutex_t lock;
        struct listener *listeners;
        int serve_fd; /* the workers' epoll: every listener, EPOLLONESHOT */
        /* The served policy and the workers' holds on it: a swap by the loop
         * frees the old policy only once no worker still decides with it. */
        pthread_mutex_t policy_lock;
        struct policy_hold *holds; /* the current one first, then retired ones still used */
} notify_listeners;
#define NOTIFY_LISTENERS_INIT                                                                 \
        { .lock = PTHREAD_MUTEX_INITIALIZER, .serve_fd = -1, .policy_lock = PTHREAD_MUTEX_INITIALIZER }

int notify_init(uoad *d);
int notify_listener_add(uoad *d, int fd, uid_t uid, pid_t pid);
bool notify_listener_serve(uoad *d, listener *l, uint32_t events, struct seccomp_notif *req,
                           struct seccomp_notif_resp *resp);
void notify_listener_hold(listener *l);
void notify_listener_release(listener *l);
void notify_listener_rearm(uoad *d, listener *l);
void notify_listeners_each(uoad *d, void (*f)(const listener *l, void *userdata), void *userdata);
size_t notify_req_size(const uoad *d);
size_t notify_resp_size(const uoad *d);
/* The policy the workers decide with; the loop's thread swaps it (p NULL:
 * at exit), the old one is freed when its last worker is done. */
void notify_policy_swap(uoad *d, policy *p);
/* Close every listener: their processes' trapped calls fail from now on. */
void notify_shutdown(uoad *d);

void notify_reply_continue(notif *n);
void notify_reply(notif *n, int64_t val);
void notify_reply_error(notif *n, int negerrno);
void notify_refusal(notif *n, const char *call, int negerrno, const char *what);
const char *notify_errno_name(int e); /* "EADDRNOTAVAIL", or strerror() */
void notify_answer(uoad *d, int fd, uint64_t id, int result); /* from any thread */
