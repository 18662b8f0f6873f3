/* uoad/holder.c: the holder, a small process of uoad's own that keeps a
 * copy of every session's fds (seccomp listeners, proxied netlink sockets)
 * so that they outlive a crash of uoad. While a listener is open, the
 * trapped calls of its processes wait in the kernel; a uoad restarted
 * within the grace period takes the copies over and answers them. With no
 * uoad for the grace period, the holder closes everything and exits: the
 * calls then fail with ENOSYS, as without it (docs/enforcement.md).
 *
 * The holder is forked by the first uoad (before it has threads) and
 * listens on SOCKET.hold (mode 0600: root only; peers checked for uid 0).
 * Privileged surface (docs/design.md §11 row 13), and why it is safe: it
 * only holds fds, never reads a notification or answers one, and gives
 * them only to a root peer: a uoad, which would have the same fds anyway. uoad sends it "add KEY
 * TEXT" with the entry's fds, "del KEY", and "quit" on SIGTERM (a stop ends
 * the sessions). A uoad connecting to a holder with no uoad is sent every
 * entry ("KEY TEXT" and its fds), then "end"; the holder drops its copies,
 * and the new uoad adds each back as it adopts it. A second uoad while one
 * is connected is told "busy". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/grow.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/strbuf.h"
#include "uoad/holder.h"
#include "uoad/uoad.h"

#define HOLD_FDS_MAX 3 /* a netlink client's three */
#define HOLD_TEXT_MAX 256

typedef struct entry {
        unsigned key;
        char text[HOLD_TEXT_MAX];
        int fds[HOLD_FDS_MAX];
        unsigned n_fds;
} entry;

static int msg_send(int fd, const char *text, const int *fds, unsigned n)
{
        char cbuf[CMSG_SPACE(sizeof(int) * HOLD_FDS_MAX)] = {};
        struct iovec iov = { .iov_base = (void *) text, .iov_len = strlen(text) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n) {
                struct cmsghdr *c;

                mh.msg_control = cbuf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
        }
        return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

/* One message: its text NUL-terminated in buf, its fds (CLOEXEC) in fds.
 * Returns the text length, 0 at EOF, or -errno. */
static ssize_t msg_recv(int fd, char *buf, size_t len, int *fds, unsigned *ret_n)
{
        char cbuf[CMSG_SPACE(sizeof(int) * HOLD_FDS_MAX)];
        struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

        *ret_n = 0;
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        unsigned k = (unsigned) ((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

                        memcpy(fds, CMSG_DATA(c), sizeof(int) * (k > HOLD_FDS_MAX ? HOLD_FDS_MAX : k));
                        *ret_n = k > HOLD_FDS_MAX ? HOLD_FDS_MAX : k;
                }
        return n;
}

/* ---- the holder process ------------------------------------------------------- */
/* What the holder keeps: holder_main()'s, the process has nothing else. */
typedef struct entries {
        entry *e;
        size_t n, cap;
} entries;

static void entry_drop(entries *es, size_t i)
{
        for (unsigned k = 0; k < es->e[i].n_fds; k++)
                close(es->e[i].fds[k]);
        es->e[i] = es->e[--es->n];
}

static void entry_put(entries *es, unsigned key, const char *text, const int *fds, unsigned n)
{
        for (size_t i = 0; i < es->n; i++)
                if (es->e[i].key == key) {
                        entry_drop(es, i);
                        break;
                }
        if (GROW(es->e, es->cap, es->n + 1, 64) < 0) {
                for (unsigned k = 0; k < n; k++)
                        close(fds[k]);
                return;
        }
        es->e[es->n] = (entry) { .key = key, .n_fds = n };
        snprintf(es->e[es->n].text, HOLD_TEXT_MAX, "%s", text);
        memcpy(es->e[es->n].fds, fds, sizeof(int) * n);
        es->n++;
}

/* A new uoad: hand it every entry, then forget them (it adds them back). */
static void hand_over(entries *es, int c)
{
        char line[HOLD_TEXT_MAX + 16];

        for (size_t i = 0; i < es->n; i++) {
                snprintf(line, sizeof(line), "%u %s", es->e[i].key, es->e[i].text);
                (void) msg_send(c, line, es->e[i].fds, es->e[i].n_fds);
        }
        (void) msg_send(c, "end", NULL, 0);
        while (es->n)
                entry_drop(es, es->n - 1);
}

static void owner_message(entries *es, int *owner, uint64_t now, uint64_t *orphan_since)
{
        char buf[HOLD_TEXT_MAX + 32];
        int fds[HOLD_FDS_MAX];
        unsigned n, key;
        int off = 0;
        ssize_t r = msg_recv(*owner, buf, sizeof(buf), fds, &n);

        if (r == -EINTR || r == -EAGAIN)
                return;
        if (r <= 0) {
                close(*owner);
                *owner = -1;
                *orphan_since = now;
                return;
        }
        if (sscanf(buf, "add %u %n", &key, &off) == 1 && off > 0)
                return entry_put(es, key, buf + off, fds, n);
        for (unsigned k = 0; k < n; k++)
                close(fds[k]);
        if (sscanf(buf, "del %u", &key) == 1) {
                for (size_t i = 0; i < es->n; i++)
                        if (es->e[i].key == key) {
                                entry_drop(es, i);
                                break;
                        }
        } else if (strcmp(buf, "quit") == 0)
                _exit(0);
}

static uint64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static _Noreturn void holder_main(int lfd, unsigned grace_s)
{
        uint64_t orphan_since = mono_ms();
        entries es = {};
        int owner = -1;

        for (;;) {
                struct pollfd p[2] = { { .fd = lfd, .events = POLLIN }, { .fd = owner, .events = POLLIN } };
                uint64_t now = mono_ms(), end = orphan_since + (uint64_t) grace_s * 1000;
                int timeout = owner >= 0 ? -1 : end > now ? (int) (end - now) : 0;

                if (owner < 0 && now >= end) {
                        if (es.n)
                                log_warn("holder: no uoad for %u s: the %zu sessions it held end now", grace_s,
                                         es.n);
                        _exit(0); /* the listeners close: waiting calls fail with ENOSYS */
                }
                if (poll(p, owner >= 0 ? 2 : 1, timeout) <= 0)
                        continue;
                now = mono_ms();
                if (p[0].revents & POLLIN) {
                        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                        struct ucred cred;
                        socklen_t len = sizeof(cred);

                        /* The socket is root's, mode 0600; only a root uoad is
                         * given the sessions all the same. */
                        if (c >= 0 && (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0)) {
                                close(c);
                                c = -1;
                        }
                        if (c >= 0 && owner >= 0) {
                                (void) msg_send(c, "busy", NULL, 0);
                                close(c);
                        } else if (c >= 0) {
                                hand_over(&es, c);
                                owner = c;
                        }
                }
                if (owner >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
                        owner_message(&es, &owner, now, &orphan_since);
        }
}

/* Fork the holder: a child of ours with nothing but its socket (and the
 * log), in a session of its own so that a terminal's signals spare it. */
static int holder_spawn(const char *path, unsigned grace_s)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        pid_t pid;

        if (lfd < 0)
                return negative_errno();
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        unlink(path);
        if (bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || listen(lfd, 8) < 0) {
                int r = negative_errno();

                close(lfd);
                return r;
        }
        pid = fork();
        if (pid < 0) {
                int r = negative_errno();

                close(lfd);
                return r;
        }
        if (pid == 0) {
                sigset_t none;

                /* A terminal's signals and uoad's own (HUP, USR2) spare it;
                 * SIGTERM (systemctl stop, an admin) ends it and the sessions. */
                setsid();
                signal(SIGHUP, SIG_IGN);
                signal(SIGINT, SIG_IGN);
                signal(SIGUSR2, SIG_IGN);
                signal(SIGPIPE, SIG_IGN);
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                holder_main(lfd, grace_s);
        }
        close(lfd);
        return 0;
}

/* ---- uoad's side ----------------------------------------------------------------- */
/* Receive what a holder held for a uoad that died: resume-state lines
 * (resume.c's format, with our new fd numbers) appended to b. */
static int held_receive(int fd, strbuf *b, size_t *ret_n)
{
        char buf[HOLD_TEXT_MAX + 32];
        size_t n = 0;

        for (;;) {
                int fds[HOLD_FDS_MAX];
                unsigned k, key, uid, portid, kportid;
                int pid, ext, cap, off = 0;
                ssize_t r = msg_recv(fd, buf, sizeof(buf), fds, &k);

                if (r <= 0)
                        return r < 0 ? (int) r : -ECONNRESET;
                if (strcmp(buf, "end") == 0)
                        break;
                if (sscanf(buf, "%u %n", &key, &off) != 1)
                        off = 0;
                if (k == 1 && sscanf(buf + off, "listener %u %d", &uid, &pid) == 2)
                        strbuf_printf(b, "listener %d %u %d\n", fds[0], uid, pid);
                else if (k == 3 && sscanf(buf + off, "nlclient %u %u %u %d %d", &uid, &portid, &kportid, &ext, &cap) == 5)
                        strbuf_printf(b, "nlclient %d %d %d %u %u %u %d %d -\n", fds[0], fds[1], fds[2], uid, portid,
                                      kportid, ext, cap);
                else {
                        for (unsigned j = 0; j < k; j++)
                                close(fds[j]);
                        continue;
                }
                n++;
        }
        *ret_n = n;
        return 0;
}

/* At start: connect to our holder, or start one. *ret_state gets the
 * sessions a holder kept for a uoad that died (NULL if none). -EBUSY: the
 * holder serves another uoad. grace_s 0: no holder. */
int holder_attach(uoad *d, unsigned grace_s, char **ret_state)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strbuf b = {};
        size_t n = 0;
        int fd, r;

        *ret_state = NULL;
        if (grace_s == 0)
                return 0;
        if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.hold", d->socket_path) >= (int) sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        for (int attempt = 0; attempt < 2; attempt++) {
                fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return negative_errno();
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        break;
                r = negative_errno();
                close(fd);
                fd = -1;
                if (attempt == 0 && (r = holder_spawn(sa.sun_path, grace_s)) < 0)
                        return r;
        }
        if (fd < 0)
                return -ECONNREFUSED;
        {
                char buf[16];
                int fds[HOLD_FDS_MAX];
                unsigned k;
                ssize_t m = recv(fd, buf, sizeof(buf) - 1, MSG_PEEK);

                if (m > 0 && (buf[m] = '\0', strcmp(buf, "busy") == 0)) {
                        (void) msg_recv(fd, buf, sizeof(buf), fds, &k);
                        close(fd);
                        return -EBUSY;
                }
        }
        r = held_receive(fd, &b, &n);
        if (r < 0) {
                free(strbuf_done(&b));
                close(fd);
                return r;
        }
        d->holder.fd = fd;
        if (n) {
                log_info("the holder kept %zu sessions of the uoad before: taking them over", n);
                *ret_state = strbuf_done(&b);
        } else
                free(strbuf_done(&b));
        return 0;
}

int holder_fd(const uoad *d)
{
        return d->holder.fd;
}

void holder_set(uoad *d, int fd)
{
        d->holder.fd = fd;
}

/* Any thread. Without a holder (grace 0, or it is gone) these do nothing. */
void holder_add(uoad *d, unsigned key, const char *text, const int *fds, unsigned n)
{
        char line[HOLD_TEXT_MAX + 16];

        if (d->holder.fd < 0)
                return;
        snprintf(line, sizeof(line), "add %u %s", key, text);
        pthread_mutex_lock(&d->holder.send_lock);
        if (msg_send(d->holder.fd, line, fds, n) < 0)
                log_warn("the holder did not take a session's fds: %m (a crash would end that session)");
        pthread_mutex_unlock(&d->holder.send_lock);
}

void holder_del(uoad *d, unsigned key)
{
        char line[32];

        if (d->holder.fd < 0)
                return;
        snprintf(line, sizeof(line), "del %u", key);
        pthread_mutex_lock(&d->holder.send_lock);
        (void) msg_send(d->holder.fd, line, NULL, 0);
        pthread_mutex_unlock(&d->holder.send_lock);
}

/* SIGTERM: a stop ends the sessions; the holder lets everything go. */
void holder_quit(uoad *d)
{
        if (d->holder.fd < 0)
                return;
        pthread_mutex_lock(&d->holder.send_lock);
        (void) msg_send(d->holder.fd, "quit", NULL, 0);
        pthread_mutex_unlock(&d->holder.send_lock);
}
