/* libuoa-preload/preload.c: the in-process shim uoa-run preloads into
 * supervised dynamic binaries. It never weakens security (a process without
 * it is held to the same rules by uoad) and never writes to the program's
 * stderr unless UOA_DEBUG is set. Today it explains refusals under
 * UOA_DEBUG; the rtnetlink fast paths live here too (see docs/). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int debug = -1;

static int debug_enabled(void)
{
        if (debug < 0) {
                const char *v = getenv("UOA_DEBUG");

                debug = v && *v && strcmp(v, "0") != 0;
        }
        return debug;
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

        if (!debug_enabled() || !why(e) || !sa)
                return;
        if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
                inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, addr, sizeof(addr));
                port = ntohs(((const struct sockaddr_in *) sa)->sin_port);
        } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, addr, sizeof(addr));
                port = ntohs(((const struct sockaddr_in6 *) sa)->sin6_port);
        } else
                return;
        /* dprintf, not stdio: the program's stderr buffering stays untouched. */
        dprintf(STDERR_FILENO, "uoa: %s(%s port %u): %s: %s (uoamap show lists them)\n", call, addr, port,
                strerrorname_np(e), why(e));
}

/* Direct system calls: the same path a static binary takes, so the shim
 * changes nothing about what uoad sees. */
int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
        long r = syscall(SYS_bind, fd, sa, len);

        if (r < 0) {
                int e = errno;

                explain("bind", sa, len, e);
                errno = e;
        }
        return (int) r;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
        long r = syscall(SYS_connect, fd, sa, len);

        if (r < 0) {
                int e = errno;

                explain("connect", sa, len, e);
                errno = e;
        }
        return (int) r;
}
