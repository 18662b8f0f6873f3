/* uoad/notify.h: the seccomp listeners, and answering a notification
 * (uoad/notify.c). */
#pragma once

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/policy.h"
#include "uoad/uoad.h"

int notify_init(uoad *d);
int notify_listener_add(uoad *d, int fd, uid_t uid, pid_t pid);
bool notify_listener_serve(uoad *d, listener *l, uint32_t events, struct seccomp_notif *req,
                           struct seccomp_notif_resp *resp);
void notify_listener_hold(listener *l);
void notify_listener_release(listener *l);
void notify_listener_rearm(listener *l);
void notify_listeners_rearm(void);
void notify_listeners_each(void (*f)(const listener *l, void *userdata), void *userdata);
size_t notify_req_size(void);
size_t notify_resp_size(void);
/* The policy the workers decide with; the loop's thread swaps it (p NULL:
 * at exit), the old one is freed when its last worker is done. */
void notify_policy_swap(policy *p);
/* Close every listener: their processes' trapped calls fail from now on. */
void notify_shutdown(uoad *d);

void notify_reply_continue(notif *n);
void notify_reply(notif *n, int64_t val);
void notify_reply_error(notif *n, int negerrno);
void notify_refusal(notif *n, const char *call, int negerrno, const char *what);
const char *notify_errno_name(int e); /* "EADDRNOTAVAIL", or strerror() */
void notify_answer(int fd, uint64_t id, int result); /* from any thread */
