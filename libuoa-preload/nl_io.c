/* libuoa-preload/nl_io.c: sends and receives on proxied netlink sockets.
 * A send is one 'R' request on the control connection; uoad answers only
 * once the immediate replies are queued on the data socket, so an error is
 * readable as soon as send returns (FRR reads non-blocking right after).
 * A receive is the data socket's own (MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT
 * behave natively on SOCK_SEQPACKET, one datagram per kernel batch); only
 * the source address is the kernel's {AF_NETLINK, pid 0}. */

/* glibc's fortified headers define recv() and recvfrom() as inline
 * wrappers; this file defines the real ones, so it is built unfortified. */
#undef _FORTIFY_SOURCE
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "common/wire.h"
#include "libuoa-preload/preload.h"

#ifndef UIO_MAXIOV
#define UIO_MAXIOV 1024
#endif
#define STACK_REQUEST 4096

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *addr,
                       socklen_t *addrlen);
extern void __chk_fail(void) __attribute__((noreturn));

/* A destination, as netlink_sendmsg() checks it: only the kernel (pid 0,
 * no group) is allowed without CAP_NET_ADMIN, which no slice holds. */
static int dest_check(const void *sa, socklen_t len)
{
        struct sockaddr_nl nl;

        if (!sa || len == 0)
                return 0;
        if (len < sizeof(nl) || len > sizeof(struct sockaddr_storage))
                return -EINVAL;
        memcpy(&nl, sa, sizeof(nl));
        if (nl.nl_family != AF_NETLINK)
                return -EINVAL;
        return nl.nl_pid || nl.nl_groups ? -EPERM : 0;
}

/* The datagram, flattened behind its 'R', to uoad; its answer. */
static ssize_t request_send(nlsock *s, const struct iovec *iov, size_t iovlen)
{
        char stack[STACK_REQUEST], *buf = stack, *p;
        size_t total = 0;
        ssize_t r;

        if (iovlen > UIO_MAXIOV)
                return -EMSGSIZE;
        if (iovlen && !iov)
                return -EFAULT;
        for (size_t i = 0; i < iovlen; i++) {
                if (iov[i].iov_len && !iov[i].iov_base)
                        return -EFAULT;
                /* uoad reads at most this much: a longer request would be cut. */
                if (iov[i].iov_len > WIRE_REQUEST_MAX - total)
                        return -EMSGSIZE;
                total += iov[i].iov_len;
        }
        if (total + 1 > sizeof(stack) && !(buf = malloc(total + 1)))
                return -ENOBUFS;
        buf[0] = WIRE_NL_REQUEST;
        p = buf + 1;
        for (size_t i = 0; i < iovlen; i++)
                if (iov[i].iov_len) {
                        memcpy(p, iov[i].iov_base, iov[i].iov_len);
                        p += iov[i].iov_len;
                }
        r = nl_call(s, buf, total + 1);
        if (buf != stack)
                free(buf);
        return r;
}

static ssize_t msg_send(nlsock *s, const struct msghdr *msg, int flags)
{
        int r;

        if (flags & MSG_OOB)
                return -EOPNOTSUPP;
        r = dest_check(msg->msg_name, msg->msg_namelen);
        if (r < 0)
                return r;
        /* Control messages (SCM_CREDENTIALS) mean nothing to rtnetlink. */
        return request_send(s, msg->msg_iov, msg->msg_iovlen);
}

static ssize_t buf_send(nlsock *s, const void *buf, size_t len, int flags, const struct sockaddr *sa,
                        socklen_t salen)
{
        struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
        struct msghdr msg = { .msg_name = (void *) sa, .msg_namelen = salen, .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t r = msg_send(s, &msg, flags);

        nl_put(s);
        return nl_ret((int) r);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
        nlsock *s = NL_GET(fd);

        return s ? buf_send(s, buf, len, flags, NULL, 0) : REAL(send)(fd, buf, len, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa, socklen_t salen)
{
        nlsock *s = NL_GET(fd);

        return s ? buf_send(s, buf, len, flags, sa, salen) : uoa_sendto_inet(fd, buf, len, flags, sa, salen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
        nlsock *s = msg ? NL_GET(fd) : NULL;
        ssize_t r;

        if (!s)
                return REAL(sendmsg)(fd, msg, flags);
        r = msg_send(s, msg, flags);
        nl_put(s);
        return nl_ret((int) r);
}

/* One request per message, each synchronised like sendmsg(). */
int sendmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags)
{
        nlsock *s = vec ? NL_GET(fd) : NULL;
        unsigned i;
        ssize_t r = 0;

        if (!s)
                return REAL(sendmmsg)(fd, vec, vlen, flags);
        if (vlen > UIO_MAXIOV)
                vlen = UIO_MAXIOV;
        for (i = 0; i < vlen; i++) {
                r = msg_send(s, &vec[i].msg_hdr, flags);
                if (r < 0)
                        break;
                vec[i].msg_len = (unsigned) r;
        }
        nl_put(s);
        return i > 0 ? (int) i : nl_ret((int) r);
}

/* ---- receiving ---------------------------------------------------------- */

/* The kernel's source address: copy what fits, report the full length. */
static void name_fill(void *name, socklen_t cap)
{
        struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

        memcpy(name, &nl, cap < sizeof(nl) ? cap : sizeof(nl));
}

/* SO_PASSCRED: the kernel's messages carry {pid 0, uid 0, gid 0}, not
 * uoad's pid. */
static void creds_fix(struct msghdr *msg)
{
        if (!msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
                return;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
                    cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred)))
                        memset(CMSG_DATA(cm), 0, sizeof(struct ucred));
}

static size_t iov_total(const struct iovec *iov, size_t n)
{
        size_t t = 0;

        for (size_t i = 0; iov && i < n; i++)
                t += iov[i].iov_len;
        return t;
}

/* A netlink socket never reads end-of-file: 0 from the data socket when
 * something was asked for means uoad closed it. */
static ssize_t eof_check(ssize_t n, size_t asked, int flags)
{
        if (n == 0 && (asked > 0 || (flags & MSG_TRUNC))) {
                errno = ECONNRESET;
                return -1;
        }
        return n;
}

/* True if fd is a proxied socket (the state itself is not needed to read). */
static bool proxied(int fd)
{
        nlsock *s = NL_GET(fd);

        if (!s)
                return false;
        nl_put(s);
        return true;
}

static ssize_t buf_recv(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *addrlen)
{
        ssize_t n = REAL(recvfrom)(fd, buf, len, flags, NULL, NULL);

        n = eof_check(n, len, flags);
        if (n >= 0 && addr && addrlen) {
                name_fill(addr, *addrlen);
                *addrlen = NL_SOCKADDR_LEN;
        }
        return n;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
        if (!proxied(fd))
                return REAL(recv)(fd, buf, len, flags);
        return buf_recv(fd, buf, len, flags, NULL, NULL);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *addrlen)
{
        if (!proxied(fd))
                return REAL(recvfrom)(fd, buf, len, flags, addr, addrlen);
        return buf_recv(fd, buf, len, flags, addr, addrlen);
}

/* What _FORTIFY_SOURCE builds call when the buffer's size is known. */
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
        if (!proxied(fd))
                return REAL(recv_chk)(fd, buf, len, buflen, flags);
        if (len > buflen)
                __chk_fail();
        return buf_recv(fd, buf, len, flags, NULL, NULL);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *addr,
                       socklen_t *addrlen)
{
        if (!proxied(fd))
                return REAL(recvfrom_chk)(fd, buf, len, buflen, flags, addr, addrlen);
        if (len > buflen)
                __chk_fail();
        return buf_recv(fd, buf, len, flags, addr, addrlen);
}

/* After one message was read: the source address and credentials the
 * kernel would have given. cap is msg_namelen as the caller passed it. */
static void msg_fix(struct msghdr *msg, socklen_t cap)
{
        if (msg->msg_name) {
                name_fill(msg->msg_name, cap);
                msg->msg_namelen = NL_SOCKADDR_LEN;
        }
        creds_fix(msg);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
        socklen_t cap;
        ssize_t n;

        if (!msg || !proxied(fd))
                return REAL(recvmsg)(fd, msg, flags);
        cap = msg->msg_namelen;
        n = REAL(recvmsg)(fd, msg, flags);
        n = eof_check(n, iov_total(msg->msg_iov, msg->msg_iovlen), flags);
        if (n >= 0)
                msg_fix(msg, cap);
        return n;
}

int recvmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags, struct timespec *timeout)
{
        socklen_t caps[UIO_MAXIOV];
        int n;

        if (!vec || !proxied(fd))
                return REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
        if (vlen > UIO_MAXIOV)
                vlen = UIO_MAXIOV; /* as the kernel caps it */
        for (unsigned i = 0; i < vlen; i++)
                caps[i] = vec[i].msg_hdr.msg_namelen;
        n = REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
        for (int i = 0; i < n; i++) {
                struct msghdr *m = &vec[i].msg_hdr;

                if (vec[i].msg_len == 0 && eof_check(0, iov_total(m->msg_iov, m->msg_iovlen), flags) < 0)
                        return i > 0 ? i : -1; /* errno is ECONNRESET */
                msg_fix(m, caps[i]);
        }
        return n;
}
