/* uoad/control.c: the control/registration socket (common/wire.h):
 * accepting connections, authenticating peers with SO_PEERCRED, and serving
 * register/show/add/del/reload. Every request is answered and the connection
 * closed; bad requests get an error, never a crash or a stall. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/conffiles.h"
#include "common/fd.h"
#include "common/list.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/strbuf.h"
#include "common/wire.h"
#include "uoad/control.h"
#include "uoad/engine_bpf.h"
#include "uoad/guard.h"
#include "uoad/notify.h"
#include "uoad/relay.h"
#include "uoad/shape.h"
#include "uoad/stats.h"
#include "uoad/uoad.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif
#define CONN_MAX 256        /* concurrent control connections */
#define CONN_PER_UID_MAX 16 /* of which one non-root uid may hold */
#define CONN_TIMEOUT_MS 5000 /* a request and its reply must be done by then */
#define CONN_OWNER_UNKNOWN ((uid_t) -1) /* an euid-0 peer whose real uid could not be read */

typedef struct conn {
        watch_kind kind; /* WATCH_CONN */
        int fd;
        struct ucred cred;
        uid_t owner; /* whom it counts against for CONN_PER_UID_MAX: conn_owner() */
        char *out;
        size_t out_len, out_pos;
        uint64_t deadline_ms;
        struct conn *prev, *next;
} conn;

static int resolve_user(const char *name, uid_t *ret_uid, void *userdata)
{
        struct passwd *pw;

        (void) userdata;
        pw = getpwnam(name);
        if (!pw)
                return -ENOENT;
        *ret_uid = pw->pw_uid;
        return 0;
}

/* Parse policy text and serve it (the file, or the state a re-executed
 * uoad was handed). */
int uoad_policy_text_set(uoad *d, const char *text, size_t len, const char *label, char *err, size_t errlen)
{
        policy *p;
        int r = policy_parse(text, len, label, resolve_user, NULL, &p, err, errlen);

        return r < 0 ? r : uoad_policy_set(d, p, err, errlen);
}

/* The main file, then its drop-ins (§3): one policy, every error reported. */
int uoad_policy_load(uoad *d, char *err, size_t errlen)
{
        _cleanup_(conffiles_done) conffiles files = {};
        policy *p;
        int r;

        r = conffiles_read(d->config_path, POLICY_TEXT_MAX, &files, err, errlen);
        if (r < 0)
                return r;
        r = policy_parse_conffiles(&files, resolve_user, NULL, &p, err, errlen);
        if (r < 0)
                return r;
        r = uoad_policy_set(d, p, err, errlen);
        if (r >= 0)
                d->n_policy_files = files.n;
        return r;
}

int uoad_policy_set(uoad *d, policy *p, char *err, size_t errlen)
{
        uint64_t t0 = now_ms(), t1;
        char err2[256];
        int r;

        /* Classes before the guard's map points slices at them (a class
         * missing meanwhile only means the default class for a moment). */
        d->guard_touched = true;
        r = shape_apply(p, err, errlen);
        if (r == 0)
                r = guard_apply(d, d->policy, p, err, errlen);
        t1 = now_ms();
        if (r == 0 && d->bpf && (r = engine_bpf_apply(d->bpf, d->policy, p)) < 0)
                snprintf(err, errlen, "cannot update the kernel engine's maps: %s", strerror(-r));
        log_debug("policy of %zu slices applied: shaping and guard %llu ms, kernel engine's maps %llu ms", policy_slice_count(p),
                  (unsigned long long) (t1 - t0), (unsigned long long) (now_ms() - t1));
        if (r < 0) {
                /* Put the served policy's guard and maps back; they may be half-changed. */
                if (d->policy && guard_apply(d, NULL, d->policy, err2, sizeof(err2)) < 0)
                        log_error("restoring the guard failed too: %s", err2);
                if (d->policy ? shape_apply(d->policy, err2, sizeof(err2)) < 0 : shape_remove() < 0)
                        log_error("restoring the shaping failed too: %s", d->policy ? err2 : "");
                if (d->policy && d->bpf && engine_bpf_apply(d->bpf, p, d->policy) < 0)
                        log_error("restoring the kernel engine's maps failed too");
                policy_free(p);
                return r;
        }
        notify_policy_swap(d, p); /* frees the old one once no worker decides with it */
        d->policy = p;
        /* libnftables' parse of a large table and the plans are gone now:
         * give their pages back, or they stay in uoad's resident set. */
        (void) malloc_trim(0);
        return 0;
}

/* Bind under a temporary name and rename into place: the socket appears
 * only once it is ready to serve, and never replaces a running daemon's. */
int control_open(uoad *d)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->control };
        _cleanup_close_ int fd = -1;
        char tmp[sizeof(sa.sun_path)];
        int probe;

        if (snprintf(tmp, sizeof(tmp), "%s.%d", d->socket_path, getpid()) >= (int) sizeof(tmp))
                return -ENAMETOOLONG;
        probe = wire_connect(d->socket_path);
        if (probe >= 0) {
                close(probe);
                return -EADDRINUSE;
        }
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        strcpy(sa.sun_path, tmp);
        unlink(tmp);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        /* Anyone may connect (uoamap show); what they may do is decided per
         * request from SO_PEERCRED. */
        if (chmod(tmp, 0666) < 0 || listen(fd, 128) < 0 || rename(tmp, d->socket_path) < 0) {
                int r = negative_errno();

                unlink(tmp);
                return r;
        }
        if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return negative_errno();
        d->control.fd = TAKE_FD(fd);
        return 0;
}

static void conn_free(uoad *d, conn *c)
{
        LIST_REMOVE(d->control.conns, c);
        if (c->fd >= 0)
                fd_unwatch_close(d->epoll_fd, c->fd);
        free(c->out);
        free(c);
        d->n_conns--;
}

void control_close(uoad *d)
{
        while (d->control.conns)
                conn_free(d, d->control.conns);
        if (d->control.fd < 0)
                return;
        fd_unwatch_close(d->epoll_fd, d->control.fd);
        d->control.fd = -1;
        unlink(d->socket_path);
}

/* "ok\n" and the payload, or "error ERRNO MSG\n". A refused policy's msg has
 * one error a line: those after the first arrive where a payload would,
 * and uoamap prints them all. */
static void conn_reply(conn *c, int negerrno, const char *msg, const char *payload)
{
        const char *status = negerrno ? "error" : "ok";
        size_t plen = payload ? strlen(payload) : 0;
        int n;

        c->out = malloc(64 + strlen(msg) + plen + 1);
        if (!c->out)
                return;
        n = negerrno ? sprintf(c->out, "%s %d %s\n", status, -negerrno, msg) : sprintf(c->out, "ok\n");
        memcpy(c->out + n, payload ? payload : "", plen + 1);
        c->out_len = (size_t) n + plen;
}

/* A pidfd for the peer: the one the kernel took at connect() (SO_PEERPIDFD,
 * Linux 6.5), else one opened by the pid it recorded then. */
static int peer_pidfd(int fd, pid_t pid)
{
        socklen_t len = sizeof(int);
        int pidfd = -1;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
                pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        return pidfd;
}

/* Whom a connection counts against. SO_PEERCRED gives the effective uid at
 * connect(), which for the setuid uoa-run is 0: counted by it, a user could
 * hold one connection per stopped uoa-run, past any per-uid limit. So a peer
 * with euid 0 counts as its real uid (the user who ran uoa-run; 0 only for
 * root itself), read from /proc/PID/status while a pidfd holds the process:
 * if it still runs after the read, the pid was not reused under us. Before
 * 6.5 the pidfd is opened after connect(), so a peer gone by then could be
 * mistaken for a new process of its pid; its connection went with it (uoa-run
 * never passes the socket on), so that costs nothing. A peer whose real uid
 * cannot be read counts in one shared bucket: limited, never exempt. */
static uid_t conn_owner(int fd, const struct ucred *cred)
{
        _cleanup_close_ int pidfd = -1;
        char path[64], line[128];
        unsigned ruid = 0;
        bool found = false;
        FILE *f;

        if (cred->uid != 0)
                return cred->uid;
        pidfd = cred->pid > 0 ? peer_pidfd(fd, cred->pid) : -1;
        if (pidfd < 0)
                return CONN_OWNER_UNKNOWN;
        snprintf(path, sizeof(path), "/proc/%d/status", cred->pid);
        f = fopen(path, "re");
        if (!f)
                return CONN_OWNER_UNKNOWN;
        while (!found && fgets(line, sizeof(line), f))
                found = sscanf(line, "Uid: %u", &ruid) == 1; /* real, effective, saved, fs */
        fclose(f);
        if (!found || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return CONN_OWNER_UNKNOWN;
        return (uid_t) ruid;
}

/* Take the seccomp listener out of the registering uoa-run. Only a peer with
 * effective uid 0 may register: uoa-run is setuid root, so a slice's own
 * program cannot hand us a listener it keeps a copy of (invariant 1). */
static void control_register(uoad *d, conn *c, const wire_request *req)
{
        _cleanup_close_ int pidfd = -1, fd = -1;
        char link[64], target[64];
        ssize_t n;
        int r;

        if (c->cred.uid != 0)
                return conn_reply(c, -EPERM, "register: only uoa-run (setuid root) may register", NULL);
        if (req->uid == 0)
                return conn_reply(c, -EPERM, "register: root is never supervised", NULL);
        if (!policy_slice_find(d->policy, req->uid))
                return conn_reply(c, -ENOENT, "has no slice in the policy", NULL);
        pidfd = peer_pidfd(c->fd, c->cred.pid);
        if (pidfd < 0)
                return conn_reply(c, -ESRCH, "register: peer is gone", NULL);
        fd = (int) syscall(SYS_pidfd_getfd, pidfd, req->fd, 0);
        if (fd < 0)
                return conn_reply(c, negative_errno(), "register: cannot take the listener", NULL);
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n < 0 || (target[n] = '\0', strcmp(target, "anon_inode:seccomp notify") != 0))
                return conn_reply(c, -EBADF, "register: that fd is not a seccomp listener", NULL);
        r = notify_listener_add(d, fd, req->uid, c->cred.pid);
        if (r < 0)
                return conn_reply(c, r, "register: cannot watch the listener", NULL);
        TAKE_FD(fd);
        log_info("slice %u: supervising pid %d", req->uid, c->cred.pid);
        conn_reply(c, 0, "", NULL);
}

static void control_edit(uoad *d, conn *c, const wire_request *req)
{
        char err[POLICY_ERR_MAX];
        policy *p;
        int r;

        r = policy_edit(d->policy, req->verb == WIRE_ADD, req->body, req->body_len, "uoamap",
                        resolve_user, NULL, &p, err, sizeof(err));
        if (r < 0)
                return conn_reply(c, r, err, NULL);
        r = uoad_policy_set(d, p, err, sizeof(err));
        if (r < 0)
                return conn_reply(c, r, err, NULL);
        log_info("policy changed by uid %u (%s)", c->cred.uid, req->verb == WIRE_ADD ? "add" : "del");
        conn_reply(c, 0, "", NULL);
}

/* "netlink": the connection leaves us for the relay, which keeps it open. */
static void control_netlink(uoad *d, conn *c)
{
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        int r;

        epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
        r = relay_client_add(d, c->fd, c->cred.uid);
        if (r == 0) {
                c->fd = -1; /* conn_free() after the dispatch leaves it alone */
                return;
        }
        epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, c->fd, &ev);
        conn_reply(c, r, r == -ENOENT ? "has no slice in the policy" : "netlink proxy unavailable", NULL);
}

/* The policy, then STATS_MARKER and the per-slice call counters, then
 * SHAPE_MARKER and the shaped slices' kernel counters. */
static void control_show(uoad *d, conn *c, const wire_request *req)
{
        _cleanup_free_ char *policy_text = policy_format(d->policy, req->has_uid ? &req->uid : NULL);
        _cleanup_free_ char *text = NULL;
        strbuf b = {};

        strbuf_printf(&b, "%s%s", policy_text ? policy_text : "", STATS_MARKER);
        stats_format(d, &b, req->has_uid ? &req->uid : NULL);
        strbuf_printf(&b, "%s", SHAPE_MARKER);
        shape_stats_format(d->policy, &b, req->has_uid ? &req->uid : NULL);
        text = strbuf_done(&b);
        if (!policy_text || !text)
                return conn_reply(c, -ENOMEM, "out of memory", NULL);
        conn_reply(c, 0, "", text);
}

/* Which engine decides, and how much uoad serves (wire.h "status"). */
static void control_status(uoad *d, conn *c)
{
        _cleanup_free_ char *text = NULL;
        strbuf b = {};

        strbuf_printf(&b, "engine %s\nsessions %zu\nslices %zu\n", engine_bpf_decides(d->bpf) ? "bpf" : "seccomp", d->n_listeners,
                      policy_slice_count(d->policy));
        /* docs/design.md §4: without BPF a wildcard serves the primary address only. */
        strbuf_printf(&b, "wildcard %s\n", d->bpf ? "every-address" : "primary");
        if (d->bpf)
                strbuf_printf(&b, "pinned %s\n", engine_bpf_pin_dir(d->bpf));
        text = strbuf_done(&b);
        if (!text)
                return conn_reply(c, -ENOMEM, "out of memory", NULL);
        conn_reply(c, 0, "", text);
}

/* What uid's filter must trap: with the kernel engine, only what it cannot
 * decide for the slice (policy_bpf_traps). Asked by uoa-run before it
 * installs the filter; nothing secret, and a filter that traps more than
 * needed is only slower. */
static void control_traps(uoad *d, conn *c, const wire_request *req)
{
        const policy_slice *s = policy_slice_find(d->policy, req->uid);
        char text[32];

        if (!s)
                return conn_reply(c, -ENOENT, "has no slice in the policy", NULL);
        snprintf(text, sizeof(text), "traps %u\n", engine_bpf_decides(d->bpf) ? policy_bpf_traps(s) : POLICY_TRAPS_ALL);
        conn_reply(c, 0, "", text);
}

static void control_dispatch(uoad *d, conn *c, const char *buf, size_t len)
{
        wire_request req;
        char err[POLICY_ERR_MAX];
        _cleanup_free_ char *text = NULL;
        int r;

        r = wire_request_parse(buf, len, &req);
        if (r < 0)
                return conn_reply(c, r, "malformed request", NULL);
        if (req.verb == WIRE_NETLINK)
                return control_netlink(d, c);
        if (req.verb == WIRE_REGISTER)
                return control_register(d, c, &req);
        if (req.verb == WIRE_SHOW)
                return control_show(d, c, &req);
        if (req.verb == WIRE_STATUS)
                return control_status(d, c);
        if (req.verb == WIRE_TRAPS)
                return control_traps(d, c, &req);
        if (c->cred.uid != 0)
                return conn_reply(c, -EPERM, "changing the policy is root-only", NULL);
        if (req.verb == WIRE_ADD || req.verb == WIRE_DEL)
                return control_edit(d, c, &req);
        r = uoad_policy_load(d, err, sizeof(err));
        if (r < 0)
                return conn_reply(c, r, err, NULL);
        log_info("policy reloaded from %s and %zu drop-ins by uid %u", d->config_path, uoad_dropins(d),
                 c->cred.uid);
        conn_reply(c, 0, "", NULL);
}

static size_t conns_of_uid(conn *conns, uid_t uid)
{
        size_t n = 0;

        LIST_FOREACH(c, conns)
                n += c->owner == uid;
        return n;
}

/* Close connections past their deadline: a client that connects and never
 * sends, or never reads its reply, costs a slot for CONN_TIMEOUT_MS only. */
void control_sweep(uoad *d, uint64_t now_ms)
{
        while (d->control.conns && d->control.conns->deadline_ms <= now_ms)
                conn_free(d, d->control.conns);
}

/* Whether a new connection may stay: within the total and within its
 * owner's share (root's own are not limited). */
static bool conn_admit(const uoad *d, conn *c, int fd)
{
        socklen_t len = sizeof(c->cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0 || d->n_conns >= CONN_MAX)
                return false;
        c->owner = conn_owner(fd, &c->cred);
        return c->owner == 0 || conns_of_uid(d->control.conns, c->owner) < CONN_PER_UID_MAX;
}

static void conn_add(uoad *d, int fd, uint64_t now_ms)
{
        struct epoll_event ev = { .events = EPOLLIN };
        conn *c;

        c = calloc(1, sizeof(*c));
        if (!c || !conn_admit(d, c, fd)) {
                free(c);
                close(fd); /* the client sees EOF: "uoad closed the connection" */
                return;
        }
        c->kind = WATCH_CONN;
        c->fd = fd;
        c->deadline_ms = now_ms + CONN_TIMEOUT_MS;
        ev.data.ptr = c;
        if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                free(c);
                close(fd);
                return;
        }
        LIST_APPEND(d->control.conns, c); /* oldest first: the sweep stops at the first one not due */
        d->n_conns++;
}

static void control_accept(uoad *d, uint64_t now_ms)
{
        int fd = accept4(d->control.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd >= 0)
                conn_add(d, fd, now_ms);
}

int control_fd(const uoad *d)
{
        return d->control.fd;
}

void control_conns_each(uoad *d, void (*f)(int fd, void *userdata), void *userdata)
{
        LIST_FOREACH(c, d->control.conns)
                if (!c->out && c->fd >= 0)
                        f(c->fd, userdata);
}

/* The listening socket of the uoad we re-executed from: already bound,
 * listening and in place (connections queued meanwhile wait in it). */
int control_adopt(uoad *d, int fd)
{
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &d->control };

        if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return negative_errno();
        d->control.fd = fd;
        return 0;
}

void control_conn_adopt(uoad *d, int fd, uint64_t now_ms)
{
        conn_add(d, fd, now_ms);
}

/* Write what the socket takes, in messages of at most WIRE_CHUNK bytes;
 * returns true when everything is sent. */
static bool conn_flush(conn *c)
{
        while (c->out_pos < c->out_len) {
                size_t chunk = c->out_len - c->out_pos;
                ssize_t n;

                if (chunk > WIRE_CHUNK)
                        chunk = WIRE_CHUNK;
                n = send(c->fd, c->out + c->out_pos, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0)
                        return errno != EAGAIN && errno != EINTR;
                c->out_pos += (size_t) n;
        }
        return true;
}

static void conn_event(uoad *d, conn *c, uint32_t events)
{
        struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
        static char buf[WIRE_REQUEST_MAX + 1];
        ssize_t n;

        if (c->out) {
                if ((events & (EPOLLHUP | EPOLLERR)) || conn_flush(c))
                        conn_free(d, c);
                return;
        }
        if (events & EPOLLIN) {
                n = recv(c->fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (n <= 0)
                        return conn_free(d, c);
                if ((size_t) n > WIRE_REQUEST_MAX)
                        conn_reply(c, -E2BIG, "request too long", NULL);
                else
                        control_dispatch(d, c, buf, (size_t) n);
                if (c->fd < 0)
                        return conn_free(d, c); /* handed to the relay */
        } else if (events & (EPOLLHUP | EPOLLERR))
                return conn_free(d, c);
        if (!c->out || conn_flush(c))
                return conn_free(d, c);
        epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
}

void control_event(uoad *d, void *watch, uint32_t events, uint64_t now_ms)
{
        if (*(watch_kind *) watch == WATCH_CONTROL)
                control_accept(d, now_ms);
        else
                conn_event(d, watch, events);
}
