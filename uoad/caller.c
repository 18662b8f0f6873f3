/* uoad/caller.c: bind() and listen() performed on uoad's duplicate of
 * a socket *in the calling thread's context* — its root, working directory,
 * umask, ids and groups, and no capabilities — by a short-lived thread of
 * uoad that then answers the notification itself.
 *
 * Why: these calls' outcome depends on who makes them. A unix path resolves
 * in the caller's root and cwd and its inode is created with the caller's
 * fsuid, fsgid and umask; a unix listener records its creator's credentials
 * for SO_PEERCRED; netlink multicast groups and other families' binds check
 * the caller's capabilities. uoad cannot do them as itself (it would create
 * root's files and grant root's privileges), and it cannot answer CONTINUE:
 * the kernel would look the fd number up again, and another thread may have
 * dup2-ed an INET socket onto it meanwhile (docs/design.md §5.2, issue 19). So the
 * call is made on the file uoad decided on, by a thread that holds what the
 * kernel checks of the caller.
 *
 * Why a thread of its own: credentials and the file-system context are per
 * thread in the kernel, and uoad's loop must stay root; and such a bind can
 * block (a path on a FUSE file system the slice serves), which must stall
 * only that thread, never the loop (docs/design.md §5.5). Threads are capped per
 * slice and in all, so a slice cannot exhaust uoad with blocked calls. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/grow.h"
#include "common/macro.h"
#include "uoad/caller.h"
#include "uoad/notify.h"
#include "uoad/notify_worker.h"
#include "uoad/target.h"
#include "uoad/uoad.h"

/* One call in progress costs a thread (a few pages of stack) and 4 fds; most
 * last tens of µs, a blocked one as long as the slice's file system wants.
 * A slice's calls beyond its share of threads wait in its queue (the caller
 * waits in the kernel, as for any trapped call) and start as threads end;
 * only beyond its queue does a call get EAGAIN. So a slice that blocks its
 * threads (FUSE) delays only its own such calls, and 8 slices must do so
 * before another slice's calls even wait. INET binds never come here. */
#define CALLER_THREADS_MAX 128
#define CALLER_THREADS_PER_UID 16
#define CALLER_QUEUED_MAX 1024
#define CALLER_QUEUED_PER_UID 64
/* CALLER_UIDS_MAX, the slices with calls running or queued: caller.h */
#define CALLER_STACK_SIZE (256 * 1024)

typedef struct caller_ids {
        uid_t uid[4]; /* real, effective, saved, file system (/proc/TID/status order) */
        gid_t gid[4];
        gid_t *groups;
        size_t n_groups;
        mode_t umask;
} caller_ids;

typedef struct caller_job {
        struct caller_job *next; /* in its slice's queue */
        uoad *d;                 /* whose caps count it (d->caller), who answers */
        caller_call call;
        unsigned slot;        /* its slice's entry in pool->slots[] */
        pid_t tid;            /* the caller */
        uint64_t id;          /* the notification */
        int listener_fd;      /* our own duplicate: the loop may close its fd */
        int sock;             /* our duplicate of the target's socket */
        int root_fd, cwd_fd;  /* the calling thread's, O_PATH */
        caller_ids ids;
        struct sockaddr_storage addr; /* CALLER_BIND: our copy */
        socklen_t addr_len;
        int backlog;                  /* CALLER_LISTEN */
} caller_job;

/* ---- the caps and the queues ----------------------------------------------
 * d->caller (caller.h), shared with the threads. A slot is a slice's while
 * it has calls running or queued. */
static caller_slot *slot_of(caller_pool *pool, uid_t uid)
{
        caller_slot *free_slot = NULL;

        for (unsigned i = 0; i < CALLER_UIDS_MAX; i++) {
                bool used = pool->slots[i].running || pool->slots[i].queued;

                if (used && pool->slots[i].uid == uid)
                        return &pool->slots[i];
                if (!used && !free_slot)
                        free_slot = &pool->slots[i];
        }
        if (free_slot)
                *free_slot = (caller_slot) { .uid = uid };
        return free_slot;
}

static void job_free(caller_job *j)
{
        closep(&j->listener_fd);
        closep(&j->sock);
        closep(&j->root_fd);
        closep(&j->cwd_fd);
        free(j->ids.groups);
        free(j);
}

/* A started job is over: count it out, and wake the loop to start a queued
 * one. Any thread. */
static void job_end(caller_job *j)
{
        caller_pool *pool = &j->d->caller;
        uint64_t one = 1;

        pthread_mutex_lock(&pool->lock);
        pool->slots[j->slot].running--;
        pool->running_total--;
        pthread_mutex_unlock(&pool->lock);
        job_free(j);
        (void) !write(pool->wake_fd, &one, sizeof(one));
}

/* ---- what the loop reads of the caller -------------------------------- */
static int groups_parse(const char *s, caller_ids *ids)
{
        size_t n = 0, cap = 0;
        gid_t *g = NULL;

        for (;;) {
                char *end;
                unsigned long v;

                while (*s == ' ' || *s == '\t')
                        s++;
                if (*s == '\n' || *s == '\0')
                        break;
                errno = 0;
                v = strtoul(s, &end, 10);
                if (errno || end == s || v > UINT32_MAX || n >= NGROUPS_MAX) {
                        free(g);
                        return -EIO;
                }
                if (GROW(g, cap, n + 1, 16) < 0) {
                        free(g);
                        return -ENOMEM;
                }
                g[n++] = (gid_t) v;
                s = end;
        }
        ids->groups = g;
        ids->n_groups = n;
        return 0;
}

/* The thread's ids as the kernel holds them (uoad reads /proc in the initial
 * user namespace, so these are the kernel's own values), its supplementary
 * groups and its umask ("Umask:" since Linux 4.7). */
static int caller_ids_read(pid_t tid, caller_ids *ret)
{
        _cleanup_free_ char *line = NULL;
        caller_ids ids = {};
        char path[64];
        size_t size = 0;
        unsigned seen = 0;
        unsigned um;
        FILE *f;
        int r = 0;

        snprintf(path, sizeof(path), "/proc/%d/status", tid);
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ENOENT : negative_errno();
        while (r == 0 && getline(&line, &size, f) > 0) {
                if (sscanf(line, "Uid: %u %u %u %u", &ids.uid[0], &ids.uid[1], &ids.uid[2], &ids.uid[3]) == 4)
                        seen |= 1;
                else if (sscanf(line, "Gid: %u %u %u %u", &ids.gid[0], &ids.gid[1], &ids.gid[2], &ids.gid[3]) == 4)
                        seen |= 2;
                else if (sscanf(line, "Umask: %o", &um) == 1) {
                        ids.umask = (mode_t) um & 0777;
                        seen |= 4;
                } else if (strncmp(line, "Groups:", 7) == 0 && !(seen & 8)) {
                        r = groups_parse(line + 7, &ids);
                        seen |= 8;
                }
        }
        fclose(f);
        if (r == 0 && seen != 15)
                r = -EIO;
        if (r < 0) {
                free(ids.groups);
                return r;
        }
        *ret = ids;
        return 0;
}

static int proc_dir_open(pid_t tid, const char *what)
{
        char path[64];
        int fd;

        /* O_PATH: following the magic link only takes a reference to the
         * caller's directory; no file system is asked anything, so a FUSE
         * mount of the slice's cannot block the loop here. */
        snprintf(path, sizeof(path), "/proc/%d/%s", tid, what);
        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? (errno == ENOENT ? -ENOENT : negative_errno()) : fd;
}

/* ---- the thread ----------------------------------------------------------- */
static int capset_raw(uint32_t effective_and_permitted)
{
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct data[2] = { { .effective = effective_and_permitted,
                                                    .permitted = effective_and_permitted } };

        return syscall(SYS_capset, &hdr, data) < 0 ? negative_errno() : 0;
}

/* Become the caller for this thread only, as far as bind and listen can
 * tell. Every step is a raw system call: glibc's set*id() and setgroups()
 * change every thread of the process (POSIX semantics, a signal broadcast),
 * the kernel's calls only the calling thread. For the same reason uoad must
 * never call glibc's set*id() wrappers while such a thread exists.
 *
 * Privileged operations here, and why each is safe:
 *  - unshare(CLONE_FS), fchdir, chroot("."): this thread's root and cwd
 *    only; chroot (CAP_SYS_CHROOT) and fchdir resolve no name the slice
 *    controls while we are root: they enter directories held by fd, opened
 *    from /proc/TID/root and /proc/TID/cwd of the caller itself.
 *  - setgroups/setresgid/setfsgid (CAP_SETGID) to the caller's values.
 *  - setresuid(0, euid, 0): the caller's effective uid; real and saved uid
 *    stay 0 so that the slice, whose uid this thread now carries, still
 *    cannot signal it (a signal needs the sender's uid or euid to be the
 *    target thread's real or saved uid, and SIGKILL to one thread kills
 *    uoad) nor ptrace it or write its memory (that needs the tracer's uid to
 *    be all three). What bind and listen check is the fsuid/fsgid, groups
 *    and umask (path walk, inode creation), the euid/egid (a unix
 *    listener's SO_PEERCRED) and capabilities.
 *  - setfsuid to the caller's fsuid, under a CAP_SETUID that is dropped
 *    right after with every other capability: the thread then holds none,
 *    permitted set included, so nothing it does is more than the caller
 *    could do. Never the caller's capabilities: in its own user namespace a
 *    caller may hold them all, which would mean all of them here. */
static int caller_become(const caller_job *j)
{
        const caller_ids *c = &j->ids;
        int r;

        if (unshare(CLONE_FS) < 0)
                return negative_errno();
        if (fchdir(j->root_fd) < 0 || chroot(".") < 0 || fchdir(j->cwd_fd) < 0)
                return negative_errno();
        umask(c->umask);
        if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0 ||
            syscall(SYS_setresgid, c->gid[0], c->gid[1], c->gid[2]) < 0)
                return negative_errno();
        (void) syscall(SYS_setfsgid, c->gid[3]); /* returns the old value, checked below */
        if (syscall(SYS_setresuid, 0, c->uid[1], 0) < 0)
                return negative_errno();
        r = capset_raw(1u << CAP_SETUID);
        if (r < 0)
                return r;
        (void) syscall(SYS_setfsuid, c->uid[3]);
        r = capset_raw(0);
        if (r < 0)
                return r;
        /* (uid_t) -1 changes nothing and returns the current value. */
        if ((uid_t) syscall(SYS_setfsuid, (uid_t) -1) != c->uid[3] ||
            (gid_t) syscall(SYS_setfsgid, (gid_t) -1) != c->gid[3])
                return -EPERM;
        return 0;
}

static void *caller_thread(void *p)
{
        caller_job *j = p;
        int r;

        pthread_setname_np(pthread_self(), "uoad-caller"); /* not the worker's name it inherits */
        r = caller_become(j);

        if (r == 0) {
                if (j->call == CALLER_BIND)
                        r = bind(j->sock, (struct sockaddr *) &j->addr, j->addr_len);
                else
                        r = listen(j->sock, j->backlog);
                r = r < 0 ? negative_errno() : 0;
        }
        notify_answer(j->d, j->listener_fd, j->id, r);
        job_end(j);
        return NULL;
}

/* Start a job whose thread is counted in already: read what the call needs
 * of the caller (cheap, and nothing here can block on a file system the
 * slice serves), check that the notification is still the caller's, and
 * hand it to a thread that answers it. On failure the job is answered with
 * the error and ended here. A worker's thread or the loop's. */
static void job_start(caller_job *j)
{
        int r;

        r = j->root_fd = proc_dir_open(j->tid, "root");
        if (r >= 0)
                r = j->cwd_fd = proc_dir_open(j->tid, "cwd");
        if (r >= 0)
                r = caller_ids_read(j->tid, &j->ids);
        /* Everything above was read by tid: it was the caller's only if the
         * caller still waits for this notification now (a tid is not reused
         * while its thread lives). */
        if (r >= 0 && !target_notif_valid(j->listener_fd, j->id))
                r = -ENOENT;
        if (r >= 0)
                r = uoad_thread_start(caller_thread, j, CALLER_STACK_SIZE);
        if (r < 0) {
                notify_answer(j->d, j->listener_fd, j->id, r);
                job_end(j);
        }
}

static caller_job *job_new(const notif *n, int sock, caller_call call, const struct sockaddr_storage *addr,
                           size_t addr_len, int backlog)
{
        caller_job *j = calloc(1, sizeof(*j));

        if (!j)
                return NULL;
        *j = (caller_job) { .d = n->d, .call = call, .tid = (pid_t) n->req->pid, .id = n->req->id, .root_fd = -1,
                            .cwd_fd = -1, .backlog = backlog };
        if (addr) {
                memcpy(&j->addr, addr, addr_len);
                j->addr_len = (socklen_t) addr_len;
        }
        j->sock = fcntl(sock, F_DUPFD_CLOEXEC, 3);
        j->listener_fd = fcntl(n->l->fd, F_DUPFD_CLOEXEC, 3);
        if (j->sock < 0 || j->listener_fd < 0) {
                job_free(j);
                return NULL;
        }
        return j;
}

/* Counts a new job in: 1 to run now, 0 queued, or -EAGAIN. */
static int job_admit(caller_job *j, uid_t uid)
{
        caller_pool *pool = &j->d->caller;
        caller_slot *sl;
        int r = -EAGAIN;

        pthread_mutex_lock(&pool->lock);
        sl = slot_of(pool, uid);
        if (sl && sl->running < CALLER_THREADS_PER_UID && pool->running_total < CALLER_THREADS_MAX) {
                sl->running++;
                pool->running_total++;
                r = 1;
        } else if (sl && sl->queued < CALLER_QUEUED_PER_UID && pool->queued_total < CALLER_QUEUED_MAX) {
                if (sl->tail)
                        sl->tail->next = j;
                else
                        sl->head = j;
                sl->tail = j;
                sl->queued++;
                pool->queued_total++;
                r = 0;
        }
        if (sl)
                j->slot = (unsigned) (sl - pool->slots);
        pthread_mutex_unlock(&pool->lock);
        return r;
}

void caller_act(notif *n, int sock, caller_call call, const struct sockaddr_storage *addr, size_t addr_len,
                int backlog)
{
        caller_job *j = job_new(n, sock, call, addr, addr_len, backlog);
        int r;

        if (!j)
                return notify_reply_error(n, negative_errno());
        r = job_admit(j, n->l->uid);
        if (r < 0) {
                job_free(j);
                return notify_refusal(n, call == CALLER_BIND ? "bind" : "listen", r,
                                      "(too many binds or listens of the slice waiting)");
        }
        n->answered = true; /* by the job's thread, or by job_start() */
        if (r)
                job_start(j);
}

/* The next queued job that may start (round robin over the slices), with
 * its thread counted in; NULL if none. */
static caller_job *job_next(caller_pool *pool)
{
        caller_job *j = NULL;

        pthread_mutex_lock(&pool->lock);
        for (unsigned k = 0; k < CALLER_UIDS_MAX && pool->running_total < CALLER_THREADS_MAX && !j; k++) {
                caller_slot *sl = &pool->slots[(pool->next_slot + k) % CALLER_UIDS_MAX];

                if (!sl->queued || sl->running >= CALLER_THREADS_PER_UID)
                        continue;
                j = sl->head;
                sl->head = j->next;
                if (!sl->head)
                        sl->tail = NULL;
                j->next = NULL;
                sl->queued--;
                pool->queued_total--;
                sl->running++;
                pool->running_total++;
                pool->next_slot = (pool->next_slot + k + 1) % CALLER_UIDS_MAX;
        }
        pthread_mutex_unlock(&pool->lock);
        return j;
}

void caller_event(uoad *d)
{
        caller_job *j;
        uint64_t v;

        (void) !read(d->caller.wake_fd, &v, sizeof(v));
        while ((j = job_next(&d->caller)))
                job_start(j);
}

int caller_init(uoad *d)
{
        caller_pool *pool = &d->caller;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &pool->wake_watch };

        pool->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (pool->wake_fd < 0 || epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, pool->wake_fd, &ev) < 0)
                return negative_errno();
        return 0;
}

unsigned caller_busy(uoad *d)
{
        unsigned n;

        pthread_mutex_lock(&d->caller.lock);
        n = d->caller.running_total + d->caller.queued_total;
        pthread_mutex_unlock(&d->caller.lock);
        return n;
}

/* Queued calls are dropped (their listeners are closed by now: the callers
 * get ENOSYS); running threads end with the process. */
void caller_shutdown(uoad *d)
{
        caller_pool *pool = &d->caller;

        pthread_mutex_lock(&pool->lock);
        for (unsigned i = 0; i < CALLER_UIDS_MAX; i++)
                while (pool->slots[i].head) {
                        caller_job *j = pool->slots[i].head;

                        pool->slots[i].head = j->next;
                        job_free(j);
                }
        pthread_mutex_unlock(&pool->lock);
}
