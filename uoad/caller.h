/* uoad/caller.h: bind/listen on our duplicate in the calling thread's
 * context (root, cwd, umask, ids, no capabilities), by a thread that
 * answers; the notification is answered either way (EAGAIN past the
 * slice's queue). (uoad/caller.c) */
#pragma once

#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "uoad/watch.h"

/* uoad.h embeds this header's state in struct uoad, so it only names it. */
typedef struct uoad uoad;
typedef struct notif notif;

#define CALLER_UIDS_MAX 128 /* slices with calls running or queued (caller.c) */

/* A slice's entry while it has calls running or queued. */
typedef struct caller_slot {
        uid_t uid;
        unsigned running, queued;
        struct caller_job *head, *tail;
} caller_slot;

/* The caps and the queues (d->caller). Shared with the threads, which
 * count themselves out: under lock. */
typedef struct caller_pool {
        watch_kind wake_watch; /* WATCH_CALLER: wake_fd's epoll data.ptr */
        int wake_fd;           /* eventfd: a thread ended, queued calls may start */
        pthread_mutex_t lock;
        caller_slot slots[CALLER_UIDS_MAX];
        unsigned running_total, queued_total, next_slot;
} caller_pool;
#define CALLER_POOL_INIT { .wake_watch = WATCH_CALLER, .wake_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER }

typedef enum caller_call { CALLER_BIND, CALLER_LISTEN } caller_call;
int caller_init(uoad *d);
void caller_act(notif *n, int sock, caller_call call, const struct sockaddr_storage *addr, size_t addr_len,
                int backlog);
void caller_event(uoad *d); /* WATCH_CALLER: start queued calls */
void caller_shutdown(uoad *d);
unsigned caller_busy(uoad *d); /* calls running or queued: a re-exec waits for none */
