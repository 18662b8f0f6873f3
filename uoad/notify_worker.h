/* uoad/notify_worker.h: the workers that serve the listeners, and the
 * watchdog that leaves a stalled one to its slice (docs/design.md §5.5). */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* uoad.h embeds this header's state in struct uoad, so it only names it. */
typedef struct uoad uoad;

#define WORKERS_MAX 16           /* the pool: one worker per CPU (at least two), at most this */
#define WORKER_STALLED_PER_UID 4 /* beyond: that slice's memory reads fail with EFAULT */
#define STALLED_UIDS_MAX 256

typedef struct notify_worker {
        uoad *d;                /* whose listeners it serves */
        pid_t tid;
        uint64_t busy_since_ms; /* 0: idle; under the pool's lock */
        uid_t uid;              /* whose notification it serves */
        bool stalled;           /* left to its call by the watchdog */
        bool running;
} notify_worker;

typedef struct notify_stalled {
        uid_t uid;
        unsigned n;
} notify_stalled;

/* The workers and the watchdog's counts (d->pool), under lock. */
typedef struct notify_pool {
        pthread_mutex_t lock;
        pthread_cond_t cond; /* drain and undrain */
        notify_worker workers[WORKERS_MAX + STALLED_UIDS_MAX * WORKER_STALLED_PER_UID];
        unsigned size, in_flight;
        bool draining, stopping;
        notify_stalled stalled[STALLED_UIDS_MAX];
        unsigned stalled_total;
        int serve_fd;
} notify_pool;
#define NOTIFY_POOL_INIT { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .serve_fd = -1 }

int notify_workers_start(uoad *d, int epoll_fd);
int notify_workers_drain(uoad *d, unsigned timeout_ms, char *why, size_t whylen);
void notify_workers_undrain(uoad *d);
void notify_workers_stop(uoad *d);
bool notify_read_allowed(uoad *d, uid_t uid); /* false: the slice has stalled its share of workers */
int uoad_thread_start(void *(*f)(void *), void *arg, size_t stack_size); /* detached, signals blocked */
