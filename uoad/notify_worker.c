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
#define WORKER_STALLED_PER_UID 4 /* beyond: that slice's memory reads fail with EFAULT */
#define WORKER_STALLED_CAP_MS 100 /* ...counting the calls stalled that long */
#define WORKERS_MAX 16
#define STALLED_UIDS_MAX 256

typedef struct worker {
        pid_t tid;
        uint64_t busy_since_ms; /* 0: idle; under pool_lock */
        uid_t uid;              /* whose notification it serves */
        bool stalled;           /* left to its call by the watchdog */
        bool running;
} worker;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER; /* drain and undrain */
static worker workers[WORKERS_MAX + STALLED_UIDS_MAX * WORKER_STALLED_PER_UID];
static unsigned pool_size, in_flight;
static bool draining, stopping;
static struct stalled_uid {
        uid_t uid;
        unsigned n;
} stalled[STALLED_UIDS_MAX];
static unsigned stalled_total;
static uoad *served;
static int serve_fd = -1;

static uint64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Under pool_lock. */
static struct stalled_uid *stalled_of(uid_t uid, bool create)
{
        struct stalled_uid *free_slot = NULL;

        for (unsigned i = 0; i < STALLED_UIDS_MAX; i++) {
                if (stalled[i].n && stalled[i].uid == uid)
                        return &stalled[i];
                if (!stalled[i].n && !free_slot)
                        free_slot = &stalled[i];
        }
        if (create && free_slot)
                *free_slot = (struct stalled_uid) { .uid = uid };
        return create ? free_slot : NULL;
}

/* Whether a read of uid's memory may be tried: not once the slice has
 * WORKER_STALLED_PER_UID calls stalled for WORKER_STALLED_CAP_MS (a worker
 * that merely waited for a lock under load is not a slice's doing). */
bool notify_read_allowed(uid_t uid)
{
        unsigned n = 0;
        uint64_t now;

        pthread_mutex_lock(&pool_lock);
        if (stalled_total) {
                now = mono_ms();
                for (unsigned i = 0; i < ELEMENTSOF(workers); i++)
                        n += workers[i].running && workers[i].stalled && workers[i].uid == uid &&
                             now - workers[i].busy_since_ms >= WORKER_STALLED_CAP_MS;
        }
        pthread_mutex_unlock(&pool_lock);
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
static listener *worker_take(worker *w, uint32_t *ret_events)
{
        struct epoll_event ev;
        listener *l;

        if (epoll_wait(serve_fd, &ev, 1, -1) != 1)
                return NULL;
        l = ev.data.ptr;
        pthread_mutex_lock(&pool_lock);
        if (draining || stopping) {
                /* Left disarmed: the drain hands it over, or re-arms all. */
                while (draining && !stopping)
                        pthread_cond_wait(&pool_cond, &pool_lock);
                pthread_mutex_unlock(&pool_lock);
                return NULL;
        }
        in_flight++;
        w->busy_since_ms = mono_ms();
        w->uid = l->uid;
        notify_listener_hold(l);
        pthread_mutex_unlock(&pool_lock);
        *ret_events = ev.events;
        return l;
}

/* Done with one notification: false if this worker was left to it by the
 * watchdog (its replacement serves now) and must exit. */
static bool worker_done(worker *w)
{
        bool stay;

        pthread_mutex_lock(&pool_lock);
        stay = !w->stalled;
        if (stay) {
                w->busy_since_ms = 0;
                in_flight--;
        } else {
                struct stalled_uid *s = stalled_of(w->uid, false);

                if (s)
                        s->n--;
                stalled_total--;
                w->running = w->stalled = false;
                log_info("slice %u: its stalled call returned", w->uid);
        }
        pthread_cond_broadcast(&pool_cond);
        pthread_mutex_unlock(&pool_lock);
        return stay;
}

static void *worker_main(void *p)
{
        worker *w = p;
        _cleanup_free_ struct seccomp_notif *req = calloc(1, notify_req_size(served));
        _cleanup_free_ struct seccomp_notif_resp *resp = calloc(1, notify_resp_size(served));

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
                alive = notify_listener_serve(served, l, events, req, resp);
                stay = worker_done(w);
                /* A stalled worker's listener stayed disarmed all along: only
                 * its session waited. Re-armed here, by whoever served it. */
                if (alive)
                        notify_listener_rearm(served, l);
                notify_listener_release(l);
                if (!stay)
                        return NULL;
        }
}

/* Under pool_lock: a free worker slot started as a worker. */
static int worker_spawn_locked(void)
{
        for (unsigned i = 0; i < ELEMENTSOF(workers); i++)
                if (!workers[i].running) {
                        int r;

                        workers[i] = (worker) { .running = true };
                        r = uoad_thread_start(worker_main, &workers[i], 0);
                        if (r < 0)
                                workers[i].running = false;
                        return r;
                }
        return -EAGAIN;
}

/* Leave the workers busy past the deadline to their calls (counted against
 * their slice) and start one in the place of each. */
static void watchdog_scan(uint64_t now)
{
        pthread_mutex_lock(&pool_lock);
        for (unsigned i = 0; i < ELEMENTSOF(workers); i++) {
                worker *w = &workers[i];
                struct stalled_uid *s;

                if (!w->running || w->stalled || !w->busy_since_ms || now - w->busy_since_ms < WORKER_DEADLINE_MS ||
                    thread_runnable(w->tid))
                        continue;
                s = stalled_of(w->uid, true);
                if (!s)
                        continue; /* 256 slices stalled at once: the pool shrinks, it does not stop */
                w->stalled = true;
                s->n++;
                stalled_total++;
                in_flight--;
                if (worker_spawn_locked() < 0)
                        log_error("cannot start a notification worker in the place of a stalled one");
                log_info("slice %u: a call of its has taken over %d ms (its memory or file system does not "
                         "answer): left to a thread of its own, %u of at most %d",
                         w->uid, WORKER_DEADLINE_MS, s->n, WORKER_STALLED_PER_UID);
        }
        pthread_cond_broadcast(&pool_cond);
        pthread_mutex_unlock(&pool_lock);
}

static void *watchdog_main(void *p)
{
        struct timespec tick = { .tv_nsec = WATCHDOG_TICK_MS * 1000000L };

        (void) p;
        pthread_setname_np(pthread_self(), "uoad-watchdog");
        for (;;) {
                nanosleep(&tick, NULL);
                watchdog_scan(mono_ms());
        }
        return NULL;
}

int notify_workers_start(uoad *d, int epoll_fd)
{
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int r;

        served = d;
        serve_fd = epoll_fd;
        pool_size = cpus < 2 ? 2 : cpus > WORKERS_MAX ? WORKERS_MAX : (unsigned) cpus;
        pthread_mutex_lock(&pool_lock);
        for (unsigned i = 0; i < pool_size; i++)
                if ((r = worker_spawn_locked()) < 0) {
                        pthread_mutex_unlock(&pool_lock);
                        return r;
                }
        pthread_mutex_unlock(&pool_lock);
        return uoad_thread_start(watchdog_main, NULL, 0);
}

/* Under pool_lock: wait for a change of the pool, 10 ms at most. */
static void pool_wait_10ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&pool_cond, &pool_lock, &ts);
}

/* Stop taking notifications and wait up to timeout_ms for those in flight.
 * 0: none is in flight or stalled (nothing of a slice is half-answered);
 * -EBUSY: some are (why says whose), and serving goes on as before. */
int notify_workers_drain(unsigned timeout_ms, char *why, size_t whylen)
{
        uint64_t end = mono_ms() + timeout_ms;
        int r = 0;

        pthread_mutex_lock(&pool_lock);
        draining = true;
        while ((in_flight || stalled_total) && mono_ms() < end)
                pool_wait_10ms();
        if (in_flight || stalled_total) {
                int n = snprintf(why, whylen, "%u calls in progress, %u stalled", in_flight, stalled_total);

                for (unsigned i = 0; i < STALLED_UIDS_MAX && n > 0 && (size_t) n < whylen; i++)
                        if (stalled[i].n)
                                n += snprintf(why + n, whylen - (size_t) n, " (slice %u: %u)", stalled[i].uid,
                                              stalled[i].n);
                r = -EBUSY;
        }
        pthread_mutex_unlock(&pool_lock);
        if (r < 0)
                notify_workers_undrain();
        return r;
}

void notify_workers_undrain(void)
{
        pthread_mutex_lock(&pool_lock);
        draining = false;
        pthread_cond_broadcast(&pool_cond);
        pthread_mutex_unlock(&pool_lock);
        notify_listeners_rearm(served);
}

/* At exit: no worker takes anything more, and those in flight are done
 * (up to a second) before the listeners close and the state they use goes.
 * Stalled ones hold what they use (the listener, the policy) themselves. */
void notify_workers_stop(void)
{
        uint64_t end = mono_ms() + 1000;

        pthread_mutex_lock(&pool_lock);
        stopping = true;
        pthread_cond_broadcast(&pool_cond);
        while (in_flight && mono_ms() < end)
                pool_wait_10ms();
        pthread_mutex_unlock(&pool_lock);
}
