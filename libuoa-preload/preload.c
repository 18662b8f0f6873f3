/* libuoa-preload/preload.c: the in-process shim uoa-run preloads into
 * supervised dynamic binaries. It never weakens security (a process without
 * it is held to the same rules by uoad) and never writes to the program's
 * stderr unless UOA_DEBUG is set. This file explains refusals under
 * UOA_DEBUG, dispatches bind/connect and marks sendto on bound sockets
 * (common/fastpath.h); netlink.c, nl_io.c and
 * nl_sockopt.c make rtnetlink sockets talk to uoad's proxy. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fastpath.h"
#include "libuoa-preload/preload.h"

static int debug = -1;

bool uoa_debug_enabled(void)
{
        if (debug < 0) {
                const char *v = getenv("UOA_DEBUG");

                debug = v && *v && strcmp(v, "0") != 0;
        }
        return debug;
}

/* dprintf, not stdio: the program's stderr buffering stays untouched. */
void uoa_debug(const char *fmt, ...)
{
        char line[512];
        va_list ap;
        int saved = errno;

        if (!uoa_debug_enabled())
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        dprintf(STDERR_FILENO, "uoa: %s\n", line);
        errno = saved;
}

static const char *why(int e)
{
        switch (e) {
        case EADDRNOTAVAIL: return "not one of this slice's addresses";
        case EACCES: return "port outside this slice's range on a shared address";
        case EPERM: return "not permitted for this slice";
        default: return NULL;
        }
}

static void explain(const char *call, const struct sockaddr *sa, socklen_t len, int e)
{
        char addr[INET6_ADDRSTRLEN] = "?";
        unsigned port = 0;

        if (!uoa_debug_enabled() || !why(e) || !sa)
                return;
        if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
                inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, addr, sizeof(addr));
                port = ntohs(((const struct sockaddr_in *) sa)->sin_port);
        } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, addr, sizeof(addr));
                port = ntohs(((const struct sockaddr_in6 *) sa)->sin6_port);
        } else
                return;
        uoa_debug("%s(%s port %u): %s: %s (uoamap show lists them)", call, addr, port, strerrorname_np(e), why(e));
}

/* Direct system calls: the same path a static binary takes, so the shim
 * changes nothing about what uoad sees. A proxied netlink socket is answered
 * here instead (its fd is a unix socket the kernel would bind as one). */
int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
        nlsock *s = NL_GET(fd);
        long r;

        if (s) {
                r = nl_bind(s, sa, len);
                nl_put(s);
                return nl_ret((int) r);
        }
        r = syscall(SYS_bind, fd, sa, len);
        if (r < 0) {
                int e = errno;

                explain("bind", sa, len, e);
                errno = e;
        }
        return (int) r;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
        nlsock *s = NL_GET(fd);
        long r;

        if (s) {
                r = nl_connect(s, sa, len);
                nl_put(s);
                return nl_ret((int) r);
        }
        r = syscall(SYS_connect, fd, sa, len);
        if (r < 0) {
                int e = errno;

                explain("connect", sa, len, e);
                errno = e;
        }
        return (int) r;
}

/* Whether fd is an INET socket bound to a specific address (not the
 * wildcard), where the kernel cannot choose another source. */
static bool inet_bound(int fd)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        if (REAL(getsockname)(fd, (struct sockaddr *) &ss, &len) < 0)
                return false;
        if (ss.ss_family == AF_INET)
                return ((const struct sockaddr_in *) &ss)->sin_addr.s_addr != htonl(INADDR_ANY);
        if (ss.ss_family == AF_INET6)
                return !IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *) &ss)->sin6_addr);
        return false;
}

/* sendto() with a destination on a bound INET socket: one getsockname()
 * instead of a round trip to uoad. The destination is passed in a zeroed
 * buffer of the marked length (common/fastpath.h); anything unusual (a
 * length the kernel would refuse, another family, MSG_FASTOPEN) takes the
 * ordinary path so that errors stay the kernel's. */
ssize_t uoa_sendto_inet(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa,
                        socklen_t salen)
{
        struct sockaddr_storage mark;

        if (!sa || (flags & MSG_FASTOPEN) || salen < sizeof(struct sockaddr_in) ||
            salen > UOA_SENDTO_BOUND_LEN ||
            !(sa->sa_family == AF_INET || (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6))) ||
            !inet_bound(fd))
                return REAL(sendto)(fd, buf, len, flags, sa, salen);
        memset(&mark, 0, sizeof(mark));
        memcpy(&mark, sa, salen);
        return REAL(sendto)(fd, buf, len, flags, (const struct sockaddr *) &mark, UOA_SENDTO_BOUND_LEN);
}
