/* uoad/notify_worker.c: the threads that serve seccomp notifications, and
 * the watchdog that keeps one slice's stalled call from taking them away
 * from everyone else (docs/design.md §5.5).
 *
 * Why threads: a handler reads the caller's memory (process_vm_readv), and
 * memory the slice controls can block that read for as long as it wants (a
 * page of a file on a FUSE file system the slice serves, which never
 * answers the read). In one loop that would stall every slice. So listeners
 * are served by a pool of workers, one per CPU (at least two), each taking
 * one ready listener at a time from an epoll set (EPOLLONESHOT: a listener
 * is never served by two workers at once, and is re-armed at the back of
 * the ready list, so each ready session gets its turn). Both cores serve
 * notifications.
 *
 * Why a watchdog: a worker busy with one notification for longer than
 * WORKER_DEADLINE_MS is left to it: the watchdog counts it against the
 * slice (uid) and starts a replacement, so the pool always has its size of
 * workers free for the others. The stalled worker goes on with its call and
 * answers it whenever the read returns (only that session waits: its
 * listener stays disarmed), then exits. A worker that is only slow because
 * the CPUs are busy (runnable) is not stalled. A slice with
 * WORKER_STALLED_PER_UID workers stalled (for WORKER_STALLED_CAP_MS) gets
 * EFAULT for every further read of its memory at once, without reading,
 * until one returns: it cannot stall more of uoad. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "uoad/notify.h"
#include "uoad/notify_worker.h"
#include "uoad/uoad.h"

#define WORKER_DEADLINE_MS 10    /* a notification taking longer stalls only its worker */
#define WATCHDOG_TICK_MS 5
#define WORKER_STALLED_CAP_MS 100 /* WORKER_STALLED_PER_UID (notify_worker.h) counts calls stalled that long */
/* The pool (d->pool), its workers and the stalled slices: notify_worker.h. */

static uint64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Under pool->lock. */
static notify_stalled *stalled_of(notify_pool *pool, uid_t uid, bool create)
{
        notify_stalled *free_slot = NULL;

        for (unsigned i = 0; i < STALLED_UIDS_MAX; i++) {
                if (pool->stalled[i].n && pool->stalled[i].uid == uid)
                        return &pool->stalled[i];
                if (!pool->stalled[i].n && !free_slot)
                        free_slot = &pool->stalled[i];
        }
        if (create && free_slot)
                *free_slot = (notify_stalled) { .uid = uid };
        return create ? free_slot : NULL;
}

/* Whether a read of uid's memory may be tried: not once the slice has
 * WORKER_STALLED_PER_UID calls stalled for WORKER_STALLED_CAP_MS (a worker
 * that merely waited for a lock under load is not a slice's doing). */
bool notify_read_allowed(uoad *d, uid_t uid)
{
        notify_pool *pool = &d->pool;
        unsigned n = 0;
        uint64_t now;

        pthread_mutex_lock(&pool->lock);
        if (pool->stalled_total) {
                now = mono_ms();
                for (unsigned i = 0; i < ELEMENTSOF(pool->workers); i++)
                        n += pool->workers[i].running && pool->workers[i].stalled && pool->workers[i].uid == uid &&
                             now - pool->workers[i].busy_since_ms >= WORKER_STALLED_CAP_MS;
        }
        pthread_mutex_unlock(&pool->lock);
        return n < WORKER_STALLED_PER_UID;
}

/* Whether thread tid of ours is runnable (state R): then it is slow only
 * because the CPUs are busy, not stalled by a slice. */
static bool thread_runnable(pid_t tid)
{
        char path[64], buf[256], *p;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return false;
        buf[n] = '\0';
        p = strrchr(buf, ')'); /* "TID (COMM) STATE ...": the name may hold anything */
        return p && p[1] == ' ' && p[2] == 'R';
}

/* Detached, every signal blocked: process-directed signals stay the main
 * loop's (signalfd) and the thread can only run to its end. stack_size 0:
 * the default. Workers here, caller.c's threads. */
int uoad_thread_start(void *(*f)(void *), void *arg, size_t stack_size)
{
        pthread_attr_t attr;
        sigset_t all, old;
        pthread_t t;
        int r;

        if (pthread_attr_init(&attr) != 0)
                return -ENOMEM;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (stack_size)
                pthread_attr_setstacksize(&attr, stack_size);
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&t, &attr, f, arg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        return -r;
}

/* Wait for a ready listener; NULL while draining (then parked until the
 * drain ends) or stopping. The listener is held and counted in flight. */
static listener *worker_take(notify_worker *w, uint32_t *ret_events)
{
        notify_pool *pool = &w->d->pool;
        struct epoll_event ev;
        listener *l;

        if (epoll_wait(pool->serve_fd, &ev, 1, -1) != 1)
                return NULL;
        l = ev.data.ptr;
        pthread_mutex_lock(&pool->lock);
        if (pool->draining || pool->stopping) {
                bool stopping;

                /* Parked while the drain lasts, l left disarmed: an exec
                 * hands it over as it is; a drain that ends without one
                 * (refused, or the exec failed) has this worker arm l again.
                 * Only l: a listener that another worker serves, stalled or
                 * not, stays disarmed until that worker is done with it.
                 * Arming every listener here once let two workers serve one
                 * and both remove it at its end (a double free, seen when a
                 * SIGUSR2 was refused while calls were stalled). */
                while (pool->draining && !pool->stopping)
                        pthread_cond_wait(&pool->cond, &pool->lock);
                stopping = pool->stopping;
                pthread_mutex_unlock(&pool->lock);
                if (!stopping)
                        notify_listener_rearm(w->d, l);
                return NULL;
        }
        pool->in_flight++;
        w->busy_since_ms = mono_ms();
        w->uid = l->uid;
        notify_listener_hold(l);
        pthread_mutex_unlock(&pool->lock);
        *ret_events = ev.events;
        return l;
}

/* Done with one notification: false if this worker was left to it by the
 * watchdog (its replacement serves now) and must exit. */
static bool worker_done(notify_worker *w)
{
        notify_pool *pool = &w->d->pool;
        bool stay;

        pthread_mutex_lock(&pool->lock);
        stay = !w->stalled;
        if (stay) {
                w->busy_since_ms = 0;
                pool->in_flight--;
        } else {
                notify_stalled *s = stalled_of(pool, w->uid, false);

                if (s)
                        s->n--;
                pool->stalled_total--;
                w->running = w->stalled = false;
                log_info("slice %u: its stalled call returned", w->uid);
        }
        pthread_cond_broadcast(&pool->cond);
        pthread_mutex_unlock(&pool->lock);
        return stay;
}

static void *worker_main(void *p)
{
        notify_worker *w = p;
        uoad *d = w->d; /* w is reused by another worker once a stalled one is done */
        _cleanup_free_ struct seccomp_notif *req = calloc(1, notify_req_size(d));
        _cleanup_free_ struct seccomp_notif_resp *resp = calloc(1, notify_resp_size(d));

        pthread_setname_np(pthread_self(), "uoad-worker");
        w->tid = gettid();
        if (!req || !resp) {
                log_error("a notification worker is out of memory");
                return NULL;
        }
        for (;;) {
                uint32_t events = 0;
                listener *l = worker_take(w, &events);
                bool alive, stay;

                if (!l)
                        continue;
                alive = notify_listener_serve(d, l, events, req, resp);
                stay = worker_done(w);
                /* A stalled worker's listener stayed disarmed all along: only
                 * its session waited. Re-armed here, by whoever served it. */
                if (alive)
                        notify_listener_rearm(d, l);
                notify_listener_release(l);
                if (!stay)
                        return NULL;
        }
}

/* Under pool->lock: a free worker slot started as a worker. */
static int worker_spawn_locked(uoad *d)
{
        notify_pool *pool = &d->pool;

        for (unsigned i = 0; i < ELEMENTSOF(pool->workers); i++)
                if (!pool->workers[i].running) {
                        int r;

                        pool->workers[i] = (notify_worker) { .d = d, .running = true };
                        r = uoad_thread_start(worker_main, &pool->workers[i], 0);
                        if (r < 0)
                                pool->workers[i].running = false;
                        return r;
                }
        return -EAGAIN;
}

/* Leave the workers busy past the deadline to their calls (counted against
 * their slice) and start one in the place of each. */
static void watchdog_scan(uoad *d, uint64_t now)
{
        notify_pool *pool = &d->pool;

        pthread_mutex_lock(&pool->lock);
        for (unsigned i = 0; i < ELEMENTSOF(pool->workers); i++) {
                notify_worker *w = &pool->workers[i];
                notify_stalled *s;

                if (!w->running || w->stalled || !w->busy_since_ms || now - w->busy_since_ms < WORKER_DEADLINE_MS ||
                    thread_runnable(w->tid))
                        continue;
                s = stalled_of(pool, w->uid, true);
                if (!s)
                        continue; /* 256 slices stalled at once: the pool shrinks, it does not stop */
                w->stalled = true;
                s->n++;
                pool->stalled_total++;
                pool->in_flight--;
                if (worker_spawn_locked(d) < 0)
                        log_error("cannot start a notification worker in the place of a stalled one");
                log_info("slice %u: a call of its has taken over %d ms (its memory or file system does not "
                         "answer): left to a thread of its own, %u of at most %d",
                         w->uid, WORKER_DEADLINE_MS, s->n, WORKER_STALLED_PER_UID);
        }
        pthread_cond_broadcast(&pool->cond);
        pthread_mutex_unlock(&pool->lock);
}

static void *watchdog_main(void *p)
{
        struct timespec tick = { .tv_nsec = WATCHDOG_TICK_MS * 1000000L };
        uoad *d = p;

        pthread_setname_np(pthread_self(), "uoad-watchdog");
        for (;;) {
                nanosleep(&tick, NULL);
                watchdog_scan(d, mono_ms());
        }
        return NULL;
}

int notify_workers_start(uoad *d, int epoll_fd)
{
        notify_pool *pool = &d->pool;
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int r;

        pool->serve_fd = epoll_fd;
        pool->size = cpus < 2 ? 2 : cpus > WORKERS_MAX ? WORKERS_MAX : (unsigned) cpus;
        pthread_mutex_lock(&pool->lock);
        for (unsigned i = 0; i < pool->size; i++)
                if ((r = worker_spawn_locked(d)) < 0) {
                        pthread_mutex_unlock(&pool->lock);
                        return r;
                }
        pthread_mutex_unlock(&pool->lock);
        return uoad_thread_start(watchdog_main, d, 0);
}

/* Under pool->lock: wait for a change of the pool, 10 ms at most. */
static void pool_wait_10ms(notify_pool *pool)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&pool->cond, &pool->lock, &ts);
}

/* Stop taking notifications and wait up to timeout_ms for those in flight.
 * 0: none is in flight or stalled (nothing of a slice is half-answered);
 * -EBUSY: some are (why says whose), and serving goes on as before. */
int notify_workers_drain(uoad *d, unsigned timeout_ms, char *why, size_t whylen)
{
        notify_pool *pool = &d->pool;
        uint64_t end = mono_ms() + timeout_ms;
        int r = 0;

        pthread_mutex_lock(&pool->lock);
        pool->draining = true;
        while ((pool->in_flight || pool->stalled_total) && mono_ms() < end)
                pool_wait_10ms(pool);
        if (pool->in_flight || pool->stalled_total) {
                int n = snprintf(why, whylen, "%u calls in progress, %u stalled", pool->in_flight,
                                 pool->stalled_total);

                for (unsigned i = 0; i < STALLED_UIDS_MAX && n > 0 && (size_t) n < whylen; i++)
                        if (pool->stalled[i].n)
                                n += snprintf(why + n, whylen - (size_t) n, " (slice %u: %u)", pool->stalled[i].uid,
                                              pool->stalled[i].n);
                r = -EBUSY;
        }
        pthread_mutex_unlock(&pool->lock);
        if (r < 0)
                notify_workers_undrain(d);
        return r;
}

void notify_workers_undrain(uoad *d)
{
        notify_pool *pool = &d->pool;

        pthread_mutex_lock(&pool->lock);
        pool->draining = false;
        pthread_cond_broadcast(&pool->cond); /* the parked workers arm their listeners again */
        pthread_mutex_unlock(&pool->lock);
}

/* At exit: no worker takes anything more, and those in flight are done
 * (up to a second) before the listeners close and the state they use goes.
 * Stalled ones hold what they use (the listener, the policy) themselves. */
void notify_workers_stop(uoad *d)
{
        notify_pool *pool = &d->pool;
        uint64_t end = mono_ms() + 1000;

        pthread_mutex_lock(&pool->lock);
        pool->stopping = true;
        pthread_cond_broadcast(&pool->cond);
        while (pool->in_flight && mono_ms() < end)
                pool_wait_10ms(pool);
        pthread_mutex_unlock(&pool->lock);
}
