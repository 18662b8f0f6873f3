/* libuoa-preload/netlink.c: rtnetlink sockets through uoad's proxy. A
 * socket(AF_NETLINK, SOCK_RAW or SOCK_DGRAM, NETLINK_ROUTE) asks uoad for a
 * proxied socket ("netlink", common/wire.h) and returns the data socket it
 * hands over; the control connection stays hidden in the per-fd state table.
 * Reads then happen on the data socket with no round trip at all; nl_io.c
 * and nl_sockopt.c make the rest look like the kernel's.
 *
 * If uoad cannot be reached or refuses, socket() returns a kernel socket:
 * reads work, changes get EPERM from the kernel (creator and sender both
 * need CAP_NET_ADMIN), which is the answer a slice without the proxy gets. */
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/wire.h"
#include "libuoa-preload/preload.h"

#define HANDSHAKE_TIMEOUT_S 5 /* a stalled uoad makes socket() fall back, never hang */
#define HANDSHAKE_FDS_MAX 4   /* room to receive (and close) fds we did not ask for */

_Atomic(nlsock *) uoa_nl_table[NL_FD_MAX];
/* Guards table slots against a concurrent close: held for a few loads and
 * stores only, never across a system call. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

uoa_real uoa_real_fn;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void table_lock_take(void) { pthread_mutex_lock(&table_lock); }
static void table_lock_drop(void) { pthread_mutex_unlock(&table_lock); }

#define RESOLVE(field, sym) uoa_real_fn.field = (__typeof__(uoa_real_fn.field)) dlsym(RTLD_NEXT, sym)

static void real_resolve(void)
{
        RESOLVE(socket, "socket");
        RESOLVE(close, "close");
        RESOLVE(send, "send");
        RESOLVE(sendto, "sendto");
        RESOLVE(sendmsg, "sendmsg");
        RESOLVE(sendmmsg, "sendmmsg");
        RESOLVE(recv, "recv");
        RESOLVE(recvfrom, "recvfrom");
        RESOLVE(recvmsg, "recvmsg");
        RESOLVE(recvmmsg, "recvmmsg");
        RESOLVE(recv_chk, "__recv_chk");
        RESOLVE(recvfrom_chk, "__recvfrom_chk");
        RESOLVE(getsockname, "getsockname");
        RESOLVE(getpeername, "getpeername");
        RESOLVE(setsockopt, "setsockopt");
        RESOLVE(getsockopt, "getsockopt");
        /* A fork while another thread holds the table lock must not leave
         * the child with it held forever. */
        pthread_atfork(table_lock_take, table_lock_drop, table_lock_drop);
}

void uoa_real_init(void)
{
        pthread_once(&real_once, real_resolve);
}

static bool fd_is(int fd, dev_t dev, ino_t ino)
{
        struct stat st;

        return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void nl_put(nlsock *s)
{
        if (atomic_fetch_sub(&s->refs, 1) != 1)
                return;
        /* Only if the number still is our connection: the program may have
         * closed it behind our back (closefrom) and reused the number. */
        if (fd_is(s->ctl, s->ctl_dev, s->ctl_ino))
                syscall(SYS_close, s->ctl);
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->state);
        free(s);
}

/* Put s (may be NULL) in fd's slot; the state it replaces is released. */
static void slot_set(int fd, nlsock *s)
{
        nlsock *old;

        pthread_mutex_lock(&table_lock);
        old = atomic_exchange(&uoa_nl_table[fd], s);
        pthread_mutex_unlock(&table_lock);
        if (old)
                nl_put(old);
}

/* Forget fd's state if it still is s (it was found stale). */
static void slot_drop(int fd, nlsock *s)
{
        nlsock *expected = s;
        bool dropped;

        pthread_mutex_lock(&table_lock);
        dropped = atomic_compare_exchange_strong(&uoa_nl_table[fd], &expected, NULL);
        pthread_mutex_unlock(&table_lock);
        if (dropped)
                nl_put(s);
}

nlsock *nl_get(int fd)
{
        nlsock *s;

        if (!nl_maybe(fd))
                return NULL;
        pthread_mutex_lock(&table_lock);
        s = atomic_load(&uoa_nl_table[fd]);
        if (s)
                atomic_fetch_add(&s->refs, 1);
        pthread_mutex_unlock(&table_lock);
        if (s && !fd_is(fd, s->data_dev, s->data_ino)) {
                /* Closed without close() (close_range, closefrom, dup2 over
                 * it) and the number reused: that fd is not ours. */
                slot_drop(fd, s);
                nl_put(s);
                return NULL;
        }
        return s;
}

static ssize_t ctl_send(int ctl, const void *msg, size_t len)
{
        ssize_t n;

        /* sendto without a destination is never trapped by the filter, and
         * MSG_NOSIGNAL: a dead uoad is an error, not a SIGPIPE. */
        do
                n = syscall(SYS_sendto, ctl, msg, len, MSG_NOSIGNAL, NULL, 0);
        while (n < 0 && errno == EINTR);
        return n;
}

/* The answer is awaited with a plain system call: not a cancellation point,
 * so a cancelled thread cannot leave the lock held or an answer unread. */
int32_t nl_call(nlsock *s, const void *msg, size_t len)
{
        int32_t answer = -ECONNREFUSED;
        ssize_t n;

        pthread_mutex_lock(&s->lock);
        if (fd_is(s->ctl, s->ctl_dev, s->ctl_ino) && ctl_send(s->ctl, msg, len) == (ssize_t) len) {
                do
                        n = syscall(SYS_recvfrom, s->ctl, &answer, sizeof(answer), 0, NULL, NULL);
                while (n < 0 && errno == EINTR);
                if (n != (ssize_t) sizeof(answer))
                        answer = -ECONNREFUSED; /* uoad went away: what a dead netlink port answers */
        }
        pthread_mutex_unlock(&s->lock);
        return answer;
}

/* "ok PORTID\n": the port id, or 0 if the text is anything else. */
static uint32_t reply_portid(const char *text)
{
        unsigned long v;
        char *end;

        if (strncmp(text, "ok ", 3) != 0 || text[3] < '0' || text[3] > '9')
                return 0;
        errno = 0;
        v = strtoul(text + 3, &end, 10);
        if (errno || v > UINT32_MAX || (*end && strcmp(end, "\n") != 0))
                return 0;
        return (uint32_t) v;
}

/* The fds of an SCM_RIGHTS answer: the first is returned, any other closed. */
static int reply_fd(struct msghdr *mh)
{
        int fd = -1;

        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                size_t n;

                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int x;

                        memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (fd < 0)
                                fd = x;
                        else
                                syscall(SYS_close, x);
                }
        }
        return fd;
}

static int ctl_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = HANDSHAKE_TIMEOUT_S };
        int fd, r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = REAL(socket)(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        do
                r = (int) syscall(SYS_connect, fd, &sa, sizeof(sa));
        while (r < 0 && errno == EINTR);
        if (r == 0)
                r = REAL(setsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (r < 0) {
                r = -errno;
                syscall(SYS_close, fd);
                return r;
        }
        return fd;
}

/* Ask uoad for a proxied socket. Returns the control fd with *ret_data the
 * data socket (O_CLOEXEC) and *ret_portid, or -errno with why[] saying what
 * uoad answered. */
static int uoad_netlink_open(const char *path, int *ret_data, uint32_t *ret_portid, char *why, size_t whylen)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * HANDSHAKE_FDS_MAX)];
        } cbuf;
        char text[256];
        struct iovec iov = { .iov_base = text, .iov_len = sizeof(text) - 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
                             .msg_controllen = sizeof(cbuf.buf) };
        struct timeval none = { 0 };
        uint32_t portid;
        ssize_t n;
        int ctl, data;

        ctl = ctl_connect(path);
        if (ctl < 0)
                return ctl;
        errno = 0;
        if (ctl_send(ctl, "netlink", 7) != 7)
                goto fail;
        do
                n = syscall(SYS_recvmsg, ctl, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                goto fail;
        text[n] = '\0';
        data = reply_fd(&mh);
        portid = reply_portid(text);
        if (data < 0 || portid == 0) {
                const char *t = n ? text : "nothing (connection closed)";

                snprintf(why, whylen, "%.*s", (int) strcspn(t, "\n"), t);
                if (data >= 0)
                        syscall(SYS_close, data);
                syscall(SYS_close, ctl);
                return -ECONNREFUSED;
        }
        /* From now on answers are awaited without a time limit, as a
         * blocking netlink sendmsg would wait. */
        REAL(setsockopt)(ctl, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
        *ret_data = data;
        *ret_portid = portid;
        return ctl;
fail:
        n = errno ? -errno : -EIO;
        syscall(SYS_close, ctl);
        return (int) n;
}

/* Give the data socket the number the kernel would have returned (the
 * lowest free one, which the control connection took first) and the
 * flags socket() was asked for. Returns the data fd. */
static int data_fd_settle(int *ctl, int data, int type)
{
        int t, fl;

        if (*ctl < data && (t = fcntl(*ctl, F_DUPFD_CLOEXEC, 0)) >= 0) {
                if (dup3(data, *ctl, O_CLOEXEC) >= 0) {
                        syscall(SYS_close, data);
                        data = *ctl;
                        *ctl = t;
                } else
                        syscall(SYS_close, t);
        }
        /* uoad's socketpair is non-blocking; ours must be what was asked. */
        fl = fcntl(data, F_GETFL);
        if (fl >= 0)
                fcntl(data, F_SETFL, type & SOCK_NONBLOCK ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
        if (!(type & SOCK_CLOEXEC))
                fcntl(data, F_SETFD, 0);
        return data;
}

static nlsock *nlsock_new(int ctl, int data, uint32_t portid, int type)
{
        struct stat dst, cst;
        nlsock *s;

        if (fstat(data, &dst) < 0 || fstat(ctl, &cst) < 0)
                return NULL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        pthread_mutex_init(&s->lock, NULL);
        pthread_mutex_init(&s->state, NULL);
        atomic_init(&s->refs, 1);
        s->ctl = ctl;
        s->data_dev = dst.st_dev;
        s->data_ino = dst.st_ino;
        s->ctl_dev = cst.st_dev;
        s->ctl_ino = cst.st_ino;
        s->portid = portid;
        s->type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
        return s;
}

/* A proxied socket, or -1 if the kernel's must be used instead. */
static int nl_socket_open(int type)
{
        const char *path = wire_socket_path(NULL);
        char why[128] = "";
        uint32_t portid = 0;
        int ctl, data = -1;
        nlsock *s;

        ctl = uoad_netlink_open(path, &data, &portid, why, sizeof(why));
        if (ctl < 0) {
                uoa_debug("netlink: uoad at %s %s%s: using a kernel socket (route changes will fail with EPERM)",
                          path, *why ? "answered: " : "unreachable: ", *why ? why : strerror(-ctl));
                return -1;
        }
        data = data_fd_settle(&ctl, data, type);
        s = (unsigned) data < NL_FD_MAX ? nlsock_new(ctl, data, portid, type) : NULL;
        if (!s) {
                uoa_debug("netlink: fd %d cannot be proxied: using a kernel socket", data);
                syscall(SYS_close, data);
                syscall(SYS_close, ctl);
                return -1;
        }
        slot_set(data, s);
        return data;
}

static bool nl_type_ok(int type)
{
        int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

        return base == SOCK_RAW || base == SOCK_DGRAM;
}

/* Exported. Every other socket goes straight to libc; the slot of the fd it
 * returns is cleared, in case an older proxied socket was closed behind our
 * back. */
int socket(int domain, int type, int protocol)
{
        int fd;

        if (domain == AF_NETLINK && protocol == NETLINK_ROUTE && nl_type_ok(type)) {
                int saved = errno;

                fd = nl_socket_open(type);
                if (fd >= 0)
                        return fd;
                errno = saved;
        }
        fd = REAL(socket)(domain, type, protocol);
        if (nl_maybe(fd))
                slot_set(fd, NULL);
        return fd;
}

/* Exported. The control connection goes with the last reference (a call in
 * progress in another thread keeps it until it returns). */
int close(int fd)
{
        if (nl_maybe(fd))
                slot_set(fd, NULL);
        return REAL(close)(fd);
}
