/* tests/integration/probe.c: uoa-probe, the socket client the integration
 * suite runs under uoa-run. One call sequence per invocation, one result line
 * ("ok ..." or "err ENAME"); must also work statically linked, so it resolves
 * nothing (inet_pton only). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define IO_TIMEOUT_SEC 3
#define ADDRPORT_LEN (INET6_ADDRSTRLEN + 16)

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2 };

/* Names, not strerror(): the suite compares them literally. */
static const struct {
        int err;
        const char *name;
} errno_names[] = {
        { EPERM, "EPERM" },               { ENOENT, "ENOENT" },
        { EINTR, "EINTR" },               { EBADF, "EBADF" },
        { EAGAIN, "EAGAIN" },             { ENOMEM, "ENOMEM" },
        { EACCES, "EACCES" },             { EFAULT, "EFAULT" },
        { EBUSY, "EBUSY" },               { EINVAL, "EINVAL" },
        { EMFILE, "EMFILE" },             { ENOSPC, "ENOSPC" },
        { EPIPE, "EPIPE" },               { ENOSYS, "ENOSYS" },
        { ENOTSOCK, "ENOTSOCK" },         { EDESTADDRREQ, "EDESTADDRREQ" },
        { EMSGSIZE, "EMSGSIZE" },         { EPROTOTYPE, "EPROTOTYPE" },
        { ENOPROTOOPT, "ENOPROTOOPT" },   { EPROTONOSUPPORT, "EPROTONOSUPPORT" },
        { EOPNOTSUPP, "EOPNOTSUPP" },     { EAFNOSUPPORT, "EAFNOSUPPORT" },
        { EADDRINUSE, "EADDRINUSE" },     { EADDRNOTAVAIL, "EADDRNOTAVAIL" },
        { ENETDOWN, "ENETDOWN" },         { ENETUNREACH, "ENETUNREACH" },
        { ECONNABORTED, "ECONNABORTED" }, { ECONNRESET, "ECONNRESET" },
        { ENOBUFS, "ENOBUFS" },           { EISCONN, "EISCONN" },
        { ENOTCONN, "ENOTCONN" },         { ETIMEDOUT, "ETIMEDOUT" },
        { ECONNREFUSED, "ECONNREFUSED" }, { EHOSTUNREACH, "EHOSTUNREACH" },
        { EALREADY, "EALREADY" },         { EINPROGRESS, "EINPROGRESS" },
        { ENODEV, "ENODEV" },             { EPROTO, "EPROTO" },
        { ENETRESET, "ENETRESET" },       { EHOSTDOWN, "EHOSTDOWN" },
};

static int fail(int err)
{
        for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
                if (errno_names[i].err == err) {
                        printf("err %s\n", errno_names[i].name);
                        return EXIT_ERR;
                }
        printf("err E%d\n", err);
        return EXIT_ERR;
}

static int usage(void)
{
        fprintf(stderr,
                "usage: uoa-probe bind 4|6 tcp|udp ADDR PORT [--hold SECONDS] [--v6only]\n"
                "       uoa-probe listen 4|6\n"
                "       uoa-probe tcp DST PORT [--bind ADDR PORT]\n"
                "       uoa-probe udp-sendto|udp-sendmsg|udp-connect DST PORT [--bind ADDR PORT]\n"
                "       uoa-probe unix stream|dgram PATH|@ABSTRACT\n"
                "       uoa-probe netlink PROTOCOL GROUPS\n");
        return EXIT_USAGE;
}

static bool parse_port(const char *s, unsigned *ret)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v > 65535 || s[0] == '-')
                return false;
        *ret = (unsigned)v;
        return true;
}

/* Text address for a socket of `family` (0: the address's own family). An
 * IPv4 address on an AF_INET6 socket becomes v4-mapped. Returns the length. */
static socklen_t make_sockaddr(const char *text, unsigned port, int family,
                               struct sockaddr_storage *ret)
{
        struct sockaddr_in *sin = (struct sockaddr_in *)ret;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ret;
        struct in_addr a4;

        memset(ret, 0, sizeof(*ret));
        if (inet_pton(AF_INET, text, &a4) == 1) {
                if (family == AF_INET6) {
                        sin6->sin6_family = AF_INET6;
                        sin6->sin6_port = htons(port);
                        sin6->sin6_addr.s6_addr[10] = 0xff;
                        sin6->sin6_addr.s6_addr[11] = 0xff;
                        memcpy(&sin6->sin6_addr.s6_addr[12], &a4, 4);
                        return sizeof(*sin6);
                }
                sin->sin_family = AF_INET;
                sin->sin_port = htons(port);
                sin->sin_addr = a4;
                return sizeof(*sin);
        }
        if (family != AF_INET && inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(port);
                return sizeof(*sin6);
        }
        return 0;
}

/* "ADDR PORT" pieces of a sockaddr; a v4-mapped address is shown as IPv4. */
static void format_sockaddr(const struct sockaddr_storage *ss, char *addr, size_t len,
                            unsigned *ret_port, bool *ret_v6)
{
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

        *ret_v6 = false;
        if (ss->ss_family == AF_INET) {
                inet_ntop(AF_INET, &sin->sin_addr, addr, len);
                *ret_port = ntohs(sin->sin_port);
        } else if (ss->ss_family == AF_INET6) {
                if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
                        inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], addr, len);
                } else {
                        inet_ntop(AF_INET6, &sin6->sin6_addr, addr, len);
                        *ret_v6 = true;
                }
                *ret_port = ntohs(sin6->sin6_port);
        } else {
                snprintf(addr, len, "family%d", ss->ss_family);
                *ret_port = 0;
        }
}

static int local_name(int fd, char *addr, size_t len, unsigned *ret_port, bool *ret_v6)
{
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);

        if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
                return -errno;
        format_sockaddr(&ss, addr, len, ret_port, ret_v6);
        return 0;
}

/* "ADDR:PORT", or "[ADDR]:PORT" for IPv6. */
static void join_addr_port(char *buf, size_t len, const char *addr, unsigned port)
{
        if (strchr(addr, ':'))
                snprintf(buf, len, "[%s]:%u", addr, port);
        else
                snprintf(buf, len, "%s:%u", addr, port);
}

static int set_timeouts(int fd)
{
        struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC };

        /* SO_SNDTIMEO also bounds a blocking connect() on Linux. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        return 0;
}

/* Turn the echo's "ADDR PORT\n" into the "seen" text. */
static int parse_reply(const char *reply, char *seen, size_t len)
{
        char addr[INET6_ADDRSTRLEN + 1];
        unsigned port;

        if (sscanf(reply, "%46s %u", addr, &port) != 2)
                return -EPROTO;
        join_addr_port(seen, len, addr, port);
        return 0;
}

static int print_result(int fd, const char *reply)
{
        char addr[INET6_ADDRSTRLEN], local[ADDRPORT_LEN], seen[ADDRPORT_LEN];
        unsigned port;
        bool v6;
        int r;

        r = local_name(fd, addr, sizeof(addr), &port, &v6);
        if (r < 0)
                return fail(-r);
        join_addr_port(local, sizeof(local), addr, port);
        if (parse_reply(reply, seen, sizeof(seen)) < 0) {
                fprintf(stderr, "uoa-probe: bad reply from echo: %s\n", reply);
                return fail(EPROTO);
        }
        printf("ok local=%s seen=%s\n", local, seen);
        return EXIT_OK;
}

/* EAGAIN after SO_RCVTIMEO/SO_SNDTIMEO expired means the peer never answered. */
static int fail_io(int err)
{
        if (err == EAGAIN || err == EWOULDBLOCK || err == EINPROGRESS)
                err = ETIMEDOUT;
        return fail(err);
}

static int cmd_bind(int argc, char **argv)
{
        struct sockaddr_storage ss;
        char addr[INET6_ADDRSTRLEN];
        unsigned port, hold = 0, bound_port;
        bool v6only = false, tcp, v6;
        int family, fd, one = 1;
        socklen_t sl;

        if (argc < 5)
                return usage();
        if (!strcmp(argv[1], "4"))
                family = AF_INET;
        else if (!strcmp(argv[1], "6"))
                family = AF_INET6;
        else
                return usage();
        if (!strcmp(argv[2], "tcp"))
                tcp = true;
        else if (!strcmp(argv[2], "udp"))
                tcp = false;
        else
                return usage();
        if (!parse_port(argv[4], &port))
                return usage();
        for (int i = 5; i < argc; i++) {
                if (!strcmp(argv[i], "--hold") && i + 1 < argc) {
                        if (!parse_port(argv[++i], &hold))
                                return usage();
                } else if (!strcmp(argv[i], "--v6only") && family == AF_INET6)
                        v6only = true;
                else
                        return usage();
        }
        sl = make_sockaddr(argv[3], port, family, &ss);
        if (sl == 0 || ss.ss_family != family)
                return usage();

        fd = socket(family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
        if (fd < 0)
                return fail(errno);
        if (v6only && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
                return fail(errno);
        if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
                return fail(errno);
        if (hold > 0 && tcp && listen(fd, 16) < 0)
                return fail(errno);
        if (local_name(fd, addr, sizeof(addr), &bound_port, &v6) < 0)
                return fail(errno);
        printf("ok %s %u\n", addr, bound_port);
        fflush(stdout);
        if (hold > 0)
                sleep(hold);
        close(fd);
        return EXIT_OK;
}

static int cmd_listen(int argc, char **argv)
{
        char addr[INET6_ADDRSTRLEN];
        unsigned port;
        int family, fd;
        bool v6;

        if (argc != 2)
                return usage();
        if (!strcmp(argv[1], "4"))
                family = AF_INET;
        else if (!strcmp(argv[1], "6"))
                family = AF_INET6;
        else
                return usage();
        fd = socket(family, SOCK_STREAM, 0);
        if (fd < 0)
                return fail(errno);
        if (listen(fd, 16) < 0)
                return fail(errno);
        if (local_name(fd, addr, sizeof(addr), &port, &v6) < 0)
                return fail(errno);
        printf("ok %s %u\n", addr, port);
        close(fd);
        return EXIT_OK;
}

static int read_line(int fd, char *buf, size_t len)
{
        size_t n = 0;

        while (n + 1 < len) {
                ssize_t r = recv(fd, buf + n, len - 1 - n, 0);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        break;
                n += (size_t)r;
                if (memchr(buf, '\n', n))
                        break;
        }
        buf[n] = '\0';
        return n > 0 ? 0 : -ECONNRESET;
}

/* The optional "--bind ADDR PORT" after DST PORT (argv[3..5]): bind fd first.
 * Returns 0, -1 for a usage error, or an errno. */
static int bind_opt(int fd, int argc, char **argv, int family)
{
        struct sockaddr_storage src;
        unsigned bport;
        socklen_t slen;

        if (argc == 3)
                return 0;
        if (argc != 6 || strcmp(argv[3], "--bind") || !parse_port(argv[5], &bport))
                return -1;
        slen = make_sockaddr(argv[4], bport, family, &src);
        if (slen == 0)
                return -1;
        return bind(fd, (struct sockaddr *)&src, slen) < 0 ? errno : 0;
}

static int cmd_tcp(int argc, char **argv)
{
        struct sockaddr_storage dst;
        socklen_t dlen;
        unsigned port;
        char reply[256];
        int fd, r;

        if (argc != 3 && argc != 6)
                return usage();
        if (!parse_port(argv[2], &port))
                return usage();
        dlen = make_sockaddr(argv[1], port, 0, &dst);
        if (dlen == 0)
                return usage();
        fd = socket(dst.ss_family, SOCK_STREAM, 0);
        if (fd < 0)
                return fail(errno);
        r = bind_opt(fd, argc, argv, dst.ss_family);
        if (r != 0)
                return r < 0 ? usage() : fail(r);
        if (set_timeouts(fd) < 0)
                return fail(errno);
        if (connect(fd, (struct sockaddr *)&dst, dlen) < 0)
                return fail_io(errno);
        if (send(fd, "hello\n", 6, MSG_NOSIGNAL) != 6)
                return fail_io(errno);
        r = read_line(fd, reply, sizeof(reply));
        if (r < 0)
                return fail_io(-r);
        r = print_result(fd, reply);
        close(fd);
        return r;
}

enum udp_way { UDP_SENDTO, UDP_SENDMSG, UDP_CONNECT };

static int cmd_udp(int argc, char **argv, enum udp_way way)
{
        struct sockaddr_storage dst;
        char reply[256] = "hello\n";
        struct iovec iov = { .iov_base = reply, .iov_len = 6 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        unsigned port;
        socklen_t dlen;
        ssize_t n;
        int fd, r;

        if ((argc != 3 && argc != 6) || !parse_port(argv[2], &port))
                return usage();
        dlen = make_sockaddr(argv[1], port, 0, &dst);
        if (dlen == 0)
                return usage();
        fd = socket(dst.ss_family, SOCK_DGRAM, 0);
        if (fd < 0)
                return fail(errno);
        r = bind_opt(fd, argc, argv, dst.ss_family);
        if (r != 0)
                return r < 0 ? usage() : fail(r);
        if (set_timeouts(fd) < 0)
                return fail(errno);
        switch (way) {
        case UDP_SENDTO:
                n = sendto(fd, reply, 6, 0, (struct sockaddr *)&dst, dlen);
                break;
        case UDP_SENDMSG:
                mh.msg_name = &dst;
                mh.msg_namelen = dlen;
                n = sendmsg(fd, &mh, 0);
                break;
        default:
                if (connect(fd, (struct sockaddr *)&dst, dlen) < 0)
                        return fail(errno);
                n = send(fd, reply, 6, 0);
                break;
        }
        if (n != 6)
                return fail(n < 0 ? errno : EMSGSIZE);
        do
                n = recv(fd, reply, sizeof(reply) - 1, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return fail_io(errno);
        reply[n] = '\0';
        r = print_result(fd, reply);
        close(fd);
        return r;
}

/* A unix socket bound to PATH (relative paths resolve in the cwd; "@NAME" is
 * abstract). A stream socket then listens and a client of the same process
 * connects: SO_PEERCRED on the client shows whom the listener was recorded
 * as (uoad must not listen as root on a slice's behalf). */
static int cmd_unix(int argc, char **argv)
{
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        struct ucred cred;
        socklen_t len, cl = sizeof(cred);
        bool stream;
        int fd, c;

        if (argc != 3 || strlen(argv[2]) >= sizeof(sun.sun_path) || !argv[2][0])
                return usage();
        stream = !strcmp(argv[1], "stream");
        if (!stream && strcmp(argv[1], "dgram"))
                return usage();
        memcpy(sun.sun_path, argv[2], strlen(argv[2]));
        if (argv[2][0] == '@')
                sun.sun_path[0] = '\0';
        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(argv[2]) + (argv[2][0] != '@'));
        fd = socket(AF_UNIX, stream ? SOCK_STREAM : SOCK_DGRAM, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sun, len) < 0)
                return fail(errno);
        if (!stream) {
                printf("ok %s\n", argv[2]);
                return EXIT_OK;
        }
        c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (listen(fd, 4) < 0 || c < 0 || connect(c, (struct sockaddr *) &sun, len) < 0 ||
            getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
                return fail(errno);
        printf("ok %s peer_uid=%u\n", argv[2], (unsigned) cred.uid);
        return EXIT_OK;
}

/* bind(AF_NETLINK PROTOCOL, nl_pid 0, nl_groups GROUPS): joining groups of
 * some protocols needs CAP_NET_ADMIN, which the caller lacks natively. */
static int cmd_netlink(int argc, char **argv)
{
        struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
        int fd;

        if (argc != 3)
                return usage();
        nl.nl_groups = (uint32_t) strtoul(argv[2], NULL, 0);
        fd = socket(AF_NETLINK, SOCK_RAW, atoi(argv[1]));
        if (fd < 0 || bind(fd, (struct sockaddr *) &nl, sizeof(nl)) < 0)
                return fail(errno);
        printf("ok groups=%#x\n", nl.nl_groups);
        return EXIT_OK;
}

int main(int argc, char **argv)
{
        if (argc < 2)
                return usage();
        argc--;
        argv++;
        if (!strcmp(argv[0], "bind"))
                return cmd_bind(argc, argv);
        if (!strcmp(argv[0], "listen"))
                return cmd_listen(argc, argv);
        if (!strcmp(argv[0], "tcp"))
                return cmd_tcp(argc, argv);
        if (!strcmp(argv[0], "udp-sendto"))
                return cmd_udp(argc, argv, UDP_SENDTO);
        if (!strcmp(argv[0], "udp-sendmsg"))
                return cmd_udp(argc, argv, UDP_SENDMSG);
        if (!strcmp(argv[0], "udp-connect"))
                return cmd_udp(argc, argv, UDP_CONNECT);
        if (!strcmp(argv[0], "unix"))
                return cmd_unix(argc, argv);
        if (!strcmp(argv[0], "netlink"))
                return cmd_netlink(argc, argv);
        return usage();
}
