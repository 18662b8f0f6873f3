/* uoad/notify.c: the seccomp listeners: registration into the epoll
 * loop, receiving a notification, dispatching it to its system call's
 * handler, and sending the answer. */
#include <errno.h>
#include <pthread.h>
#include <linux/audit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/list.h"
#include "common/log.h"
#include "common/macro.h"
#include "uoad/holder.h"
#include "uoad/notify.h"
#include "uoad/notify_bind.h"
#include "uoad/notify_send.h"
#include "uoad/notify_socket.h"
#include "uoad/notify_sockopt.h"
#include "uoad/notify_worker.h"
#include "uoad/stats.h"
#include "uoad/target.h"
#include "uoad/uoad.h"

/* Linux 6.6; the Debian 12 header lacks it. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

static const policy_slice empty_slice; /* a uid with no slice: loopback only */

/* A hold of the workers on a served policy (d->notify.holds). */
typedef struct policy_hold {
        policy *p;
        unsigned users;
        bool retired;
        struct policy_hold *next;
} policy_hold;

/* The kernel may know larger structures than our headers: size buffers by
 * what it says (SECCOMP_GET_NOTIF_SIZES) and zero them before each use. */
int notify_init(uoad *d)
{
        notify_listeners *nl = &d->notify;
        struct seccomp_notif_sizes sizes;

        if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
                return negative_errno();
        nl->req_size = sizes.seccomp_notif > sizeof(struct seccomp_notif) ? sizes.seccomp_notif
                                                                          : sizeof(struct seccomp_notif);
        nl->resp_size = sizes.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
                                ? sizes.seccomp_notif_resp
                                : sizeof(struct seccomp_notif_resp);
        nl->serve_fd = epoll_create1(EPOLL_CLOEXEC);
        if (nl->serve_fd < 0)
                return negative_errno();
        return notify_workers_start(d, nl->serve_fd);
}

size_t notify_req_size(const uoad *d)
{
        return d->notify.req_size;
}

size_t notify_resp_size(const uoad *d)
{
        return d->notify.resp_size;
}

/* The loop's thread: p becomes the policy the workers decide with (NULL at
 * exit). The old one is freed once its last worker is done with it. */
void notify_policy_swap(uoad *d, policy *p)
{
        notify_listeners *nl = &d->notify;
        policy_hold *h = p ? calloc(1, sizeof(*h)) : NULL, **pp;

        pthread_mutex_lock(&nl->policy_lock);
        if (nl->holds)
                nl->holds->retired = true;
        for (pp = &nl->holds; *pp;) {
                policy_hold *o = *pp;

                if (o->retired && !o->users) {
                        *pp = o->next;
                        policy_free(o->p);
                        free(o);
                } else
                        pp = &o->next;
        }
        if (h) {
                h->p = p;
                h->next = nl->holds;
                nl->holds = h;
        } else if (p)
                policy_free(p); /* out of memory: cannot happen in practice; the old stays retired */
        pthread_mutex_unlock(&nl->policy_lock);
}

static policy_hold *policy_take(notify_listeners *nl)
{
        policy_hold *h;

        pthread_mutex_lock(&nl->policy_lock);
        h = nl->holds && !nl->holds->retired ? nl->holds : NULL;
        if (h)
                h->users++;
        pthread_mutex_unlock(&nl->policy_lock);
        return h;
}

static void policy_drop(notify_listeners *nl, policy_hold *h)
{
        policy_hold **pp;

        if (!h)
                return;
        pthread_mutex_lock(&nl->policy_lock);
        if (--h->users == 0 && h->retired)
                for (pp = &nl->holds; *pp; pp = &(*pp)->next)
                        if (*pp == h) {
                                *pp = h->next;
                                policy_free(h->p);
                                free(h);
                                break;
                        }
        pthread_mutex_unlock(&nl->policy_lock);
}

static void listener_unref(listener *l)
{
        if (__atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) > 0)
                return;
        close(l->fd);
        free(l);
}

/* Watch a listener we own (fd): registered by uoa-run, or handed over by
 * the uoad we re-executed from. */
int notify_listener_add(uoad *d, int fd, uid_t uid, pid_t pid)
{
        struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };
        listener *l = calloc(1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        *l = (listener) { .kind = WATCH_LISTENER, .fd = fd, .uid = uid, .pid = pid, .refs = 1 };
        /* Wake the target on the CPU that answers it (6.6): ~7 µs instead of
         * ~56 µs per round trip on a 2-core VM. Older kernels refuse: fine. */
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0)
                d->sync_wakeup = true;
        ev.data.ptr = l;
        pthread_mutex_lock(&d->notify.lock);
        if (epoll_ctl(d->notify.serve_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = negative_errno();

                pthread_mutex_unlock(&d->notify.lock);
                free(l);
                return r;
        }
        LIST_PREPEND(d->notify.listeners, l);
        d->n_listeners++;
        pthread_mutex_unlock(&d->notify.lock);
        {
                char text[64];

                snprintf(text, sizeof(text), "listener %u %d", (unsigned) uid, (int) pid);
                holder_add(d, (unsigned) fd, text, &fd, 1);
        }
        return 0;
}

/* Under d->notify.lock. */
static void listener_remove_locked(uoad *d, listener *l)
{
        LIST_REMOVE(d->notify.listeners, l);
        epoll_ctl(d->notify.serve_fd, EPOLL_CTL_DEL, l->fd, NULL);
        holder_del(d, (unsigned) l->fd);
        d->n_listeners--;
        listener_unref(l);
}

/* Serve l again (its EPOLLONESHOT fired for the notification just done). */
void notify_listener_rearm(uoad *d, listener *l)
{
        struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = l };

        (void) epoll_ctl(d->notify.serve_fd, EPOLL_CTL_MOD, l->fd, &ev);
}

/* Call f for every listener (the loop's thread, workers drained: the
 * handover to a re-executed uoad). */
void notify_listeners_each(uoad *d, void (*f)(const listener *l, void *userdata), void *userdata)
{
        pthread_mutex_lock(&d->notify.lock);
        LIST_FOREACH(l, d->notify.listeners)
                f(l, userdata);
        pthread_mutex_unlock(&d->notify.lock);
}

void notify_shutdown(uoad *d)
{
        notify_workers_stop(d);
        pthread_mutex_lock(&d->notify.lock);
        while (d->notify.listeners)
                listener_remove_locked(d, d->notify.listeners);
        pthread_mutex_unlock(&d->notify.lock);
        target_cache_clear();
}

void notify_reply_continue(notif *n)
{
        n->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
}

void notify_reply(notif *n, int64_t val)
{
        n->resp->val = val;
}

void notify_reply_error(notif *n, int negerrno)
{
        n->resp->error = negerrno;
}

/* Answer notification id on listener fd from any thread (caller.c's): a
 * response of the size the kernel expects, with its result or error. */
void notify_answer(uoad *d, int fd, uint64_t id, int result)
{
        _cleanup_free_ struct seccomp_notif_resp *resp = calloc(1, d->notify.resp_size);

        if (!resp) {
                log_error("cannot answer a notification: out of memory"); /* it waits for its listener's end */
                return;
        }
        resp->id = id;
        if (result < 0)
                resp->error = result;
        /* ENOENT: the target died or a signal interrupted the call. */
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
                log_warn("NOTIF_SEND from a worker: %m");
}

const char *notify_errno_name(int e)
{
        switch (e) {
        case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
        case EACCES: return "EACCES";
        case EPERM: return "EPERM";
        case EAFNOSUPPORT: return "EAFNOSUPPORT";
        case EINVAL: return "EINVAL";
        default: return strerror(e);
        }
}

/* The one place a refusal is logged: which slice, which process, which call,
 * what it asked for, and the errno it got. */
void notify_refusal(notif *n, const char *call, int negerrno, const char *what)
{
        char comm[64] = "?", path[64];
        struct timespec ts;
        FILE *f;

        notify_reply_error(n, negerrno);
        n->refused = true;
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        if (!stats_log_allowed(n->d, n->l->uid, (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000))
                return;
        snprintf(path, sizeof(path), "/proc/%u/comm", n->req->pid);
        f = fopen(path, "re");
        if (f) {
                if (fgets(comm, sizeof(comm), f))
                        comm[strcspn(comm, "\n")] = '\0';
                fclose(f);
        }
        log_info("slice %u: pid %u (%s): %s %s refused: %s", n->l->uid, n->req->pid, comm, call,
                 what ? what : "", notify_errno_name(-negerrno));
}

/* Virtual capabilities: capset() "succeeds" and changes nothing. Why this
 * is safe: the caller's real capabilities stay empty (a non-root uid under
 * no_new_privs); nothing is read from its memory and nothing is done on its
 * behalf, so every privileged operation it then tries is still decided by
 * uoad's rules or refused by the kernel. It only gets routing daemons that
 * raise capabilities at startup (FRR) past that step. */
static void notify_capset(notif *n)
{
        notify_reply(n, 0);
}

static call_kind call_of(int nr)
{
        switch (nr) {
        case SYS_bind: return CALL_BIND;
        case SYS_listen: return CALL_LISTEN;
        case SYS_connect: return CALL_CONNECT;
        case SYS_sendto: return CALL_SENDTO;
        case SYS_sendmsg: return CALL_SENDMSG;
        case SYS_sendmmsg: return CALL_SENDMMSG;
        case SYS_socket: return CALL_SOCKET;
        case SYS_setsockopt: return CALL_SETSOCKOPT;
        default: return CALL_CAPSET;
        }
}

static void notify_dispatch(notif *n)
{
        switch (n->req->data.nr) {
        case SYS_bind: notify_bind(n); break;
        case SYS_listen: notify_listen(n); break;
        case SYS_connect: notify_connect(n); break;
        case SYS_sendto: notify_sendto(n); break;
        case SYS_sendmsg: notify_sendmsg(n); break;
        case SYS_sendmmsg: notify_sendmmsg(n); break;
        case SYS_socket: notify_socket(n); break;
        case SYS_setsockopt: notify_setsockopt(n); break;
        case SYS_capset: notify_capset(n); break;
        default:
                /* The filter traps nothing else; refuse rather than guess. */
                notify_reply_error(n, -ENOSYS);
        }
}

/* One event of listener l, in a worker (l's EPOLLONESHOT keeps every other
 * worker away until it is re-armed): receive one notification, decide,
 * answer. Returns false when l is gone (all its processes exited): then it
 * is removed here and must not be re-armed. */
bool notify_listener_serve(uoad *d, listener *l, uint32_t events, struct seccomp_notif *req,
                           struct seccomp_notif_resp *resp)
{
        notif n = { .d = d, .l = l, .req = req, .resp = resp };
        policy_hold *h;

        if (!(events & EPOLLIN)) {
                if (!(events & (EPOLLHUP | EPOLLERR)))
                        return true;
                log_debug("slice %u: supervised processes of uoa-run %d have all exited", l->uid, l->pid);
                pthread_mutex_lock(&d->notify.lock);
                listener_remove_locked(d, l);
                pthread_mutex_unlock(&d->notify.lock);
                return false;
        }
        memset(req, 0, d->notify.req_size);
        if (ioctl(l->fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
                /* ENOENT: the target was interrupted or died before we read
                 * it; EINTR: a signal. Neither is an error of ours. */
                if (errno != ENOENT && errno != EINTR)
                        log_warn("slice %u: NOTIF_RECV: %m", l->uid);
                return true;
        }
        memset(resp, 0, d->notify.resp_size);
        resp->id = req->id;
        h = policy_take(&d->notify);
        n.slice = h ? policy_slice_find(h->p, l->uid) : NULL;
        if (!n.slice)
                n.slice = &empty_slice;
        if (req->data.arch != AUDIT_ARCH_X86_64)
                notify_reply_error(&n, -ENOSYS); /* the filter kills these first */
        else
                notify_dispatch(&n);
        policy_drop(&d->notify, h);
        stats_count(d, l->uid, call_of(req->data.nr), n.refused);
        /* ENOENT: the target died or a signal interrupted the call; it will
         * restart it and we will see it again. */
        if (!n.answered && ioctl(l->fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
                log_warn("slice %u: NOTIF_SEND: %m", l->uid);
        return true;
}

/* A worker holds l while it serves it: a listener removed meanwhile (exit,
 * handover) stays valid until that worker is done. */
void notify_listener_hold(listener *l)
{
        __atomic_add_fetch(&l->refs, 1, __ATOMIC_ACQ_REL);
}

void notify_listener_release(listener *l)
{
        listener_unref(l);
}
