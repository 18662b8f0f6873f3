/* tests/integration/nlclient.c: uoa-nlclient, an rtnetlink client that
 * checks what iproute2, BIRD and FRR check on their netlink sockets. Run
 * with libuoa-preload.so preloaded (tests/test_preload.c runs it against a
 * fake uoad). One scenario per invocation; prints "FAIL: ..." per failed
 * check and "ok N" at the end; exits 0 only if every check held. */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAKE_PORTID 4242 /* what tests/test_preload.c's fake uoad answers */
#define THREAD_ROUNDS 200
#define CLIENT_TIMEOUT_S 10 /* a call that blocks forever fails the run */

static int checks, failures;

#define CHECK(cond, ...) check_((cond), #cond, __VA_ARGS__)

__attribute__((format(printf, 3, 4))) static void check_(bool ok, const char *what, const char *fmt, ...)
{
        va_list ap;

        checks++;
        if (ok)
                return;
        failures++;
        printf("FAIL: %s: ", what);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf(" (errno %s)\n", strerrorname_np(errno) ? strerrorname_np(errno) : "0");
        fflush(stdout);
}

static int lowest_free_fd(void)
{
        int fd = fcntl(0, F_DUPFD, 0);

        close(fd);
        return fd;
}

typedef struct {
        struct nlmsghdr nh;
        struct ifinfomsg ifi;
        char pad[64]; /* lets threads send requests of different lengths */
} link_req;

static size_t link_req_make(link_req *r, uint32_t seq, uint16_t flags, size_t pad)
{
        memset(r, 0, sizeof(*r));
        r->nh.nlmsg_len = (uint32_t) (NLMSG_LENGTH(sizeof(r->ifi)) + pad);
        r->nh.nlmsg_type = RTM_GETLINK;
        r->nh.nlmsg_flags = NLM_F_REQUEST | flags;
        r->nh.nlmsg_seq = seq;
        r->ifi.ifi_family = AF_UNSPEC;
        return r->nh.nlmsg_len;
}

static int nl_open(int type)
{
        return socket(AF_NETLINK, type, NETLINK_ROUTE);
}

static void check_identity(int fd, int type)
{
        struct sockaddr_nl nl;
        unsigned char raw[32];
        socklen_t len = sizeof(nl);
        int v = -1;

        memset(&nl, 0xff, sizeof(nl));
        CHECK(getsockname(fd, (struct sockaddr *) &nl, &len) == 0, "getsockname");
        CHECK(len == 12, "getsockname length %u", len);
        CHECK(nl.nl_family == AF_NETLINK && nl.nl_pid == FAKE_PORTID && nl.nl_groups == 0,
              "getsockname family %u pid %u groups %#x", nl.nl_family, nl.nl_pid, nl.nl_groups);
        /* A short buffer gets what fits, the length says the full size. */
        memset(raw, 0xee, sizeof(raw));
        len = 4;
        CHECK(getsockname(fd, (struct sockaddr *) raw, &len) == 0 && len == 12 && raw[4] == 0xee,
              "getsockname into 4 bytes: length %u, byte 4 %#x", len, raw[4]);
        memset(&nl, 0xff, sizeof(nl));
        len = sizeof(nl);
        CHECK(getpeername(fd, (struct sockaddr *) &nl, &len) == 0 && len == 12 && nl.nl_family == AF_NETLINK &&
                      nl.nl_pid == 0 && nl.nl_groups == 0,
              "getpeername length %u family %u pid %u", len, nl.nl_family, nl.nl_pid);
        len = sizeof(v);
        CHECK(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) == 0 && v == AF_NETLINK, "SO_DOMAIN %d", v);
        CHECK(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0 && v == NETLINK_ROUTE, "SO_PROTOCOL %d", v);
        CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == type, "SO_TYPE %d", v);
}

static void check_options(int fd)
{
        int one = 1, v = -1, bits[4] = { 0 };
        socklen_t len = sizeof(v);
        struct sockaddr_nl nl = { .nl_family = AF_NETLINK, .nl_pid = 99, .nl_groups = RTMGRP_IPV4_ROUTE };

        CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) == 0, "NETLINK_EXT_ACK");
        CHECK(getsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &v, &len) == 0 && v == 1 && len == sizeof(int),
              "NETLINK_EXT_ACK reads back %d", v);
        CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one)) == 0, "GET_STRICT_CHK");
        CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one)) == 0, "NETLINK_CAP_ACK");
        CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_PKTINFO, &one, sizeof(one)) == 0, "NETLINK_PKTINFO");
        len = sizeof(v);
        CHECK(getsockopt(fd, SOL_NETLINK, NETLINK_PKTINFO, &v, &len) == 0 && v == 1, "PKTINFO reads back %d", v);
        len = sizeof(v);
        CHECK(getsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &v, &len) == 0 && v == 0, "NO_ENOBUFS is off");
        errno = 0;
        CHECK(setsockopt(fd, SOL_NETLINK, 9999, &one, sizeof(one)) < 0 && errno == ENOPROTOOPT,
              "unknown SOL_NETLINK option");
        errno = 0;
        CHECK(setsockopt(fd, SOL_IP, IP_TTL, &one, sizeof(one)) < 0 && errno == ENOPROTOOPT, "SOL_IP option");
        v = 1 << 20;
        CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0, "SO_RCVBUF natively");
        CHECK(bind(fd, (struct sockaddr *) &nl, sizeof(nl)) == 0, "bind with groups");
        v = RTNLGRP_IPV6_ROUTE;
        CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &v, sizeof(v)) == 0, "ADD_MEMBERSHIP");
        len = sizeof(bits);
        CHECK(getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, bits, &len) == 0, "LIST_MEMBERSHIPS");
        CHECK(bits[0] == (RTMGRP_IPV4_ROUTE | 1 << (RTNLGRP_IPV6_ROUTE - 1)) && len >= 4,
              "memberships %#x length %u", bits[0], len);
        len = sizeof(nl);
        CHECK(getsockname(fd, (struct sockaddr *) &nl, &len) == 0 && nl.nl_pid == FAKE_PORTID &&
                      nl.nl_groups == (RTMGRP_IPV4_ROUTE | 1u << (RTNLGRP_IPV6_ROUTE - 1)),
              "after bind: pid %u groups %#x", nl.nl_pid, nl.nl_groups);
}

/* What FRR does: send, then read non-blocking at once. */
static void check_request_and_ack(int fd)
{
        link_req req;
        size_t n = link_req_make(&req, 77, NLM_F_ACK, 0);
        struct iovec iov[2] = { { &req, 10 }, { (char *) &req + 10, n - 10 } };
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        struct msghdr mh = { .msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = iov, .msg_iovlen = 2 };
        char buf[256];
        struct sockaddr_nl from;
        struct iovec riov = { buf, sizeof(buf) };
        struct msghdr rh = { .msg_name = &from, .msg_namelen = sizeof(from) + 8, .msg_iov = &riov, .msg_iovlen = 1 };
        struct nlmsghdr *nh = (struct nlmsghdr *) buf;
        ssize_t r;

        r = sendmsg(fd, &mh, 0);
        CHECK(r == (ssize_t) n, "sendmsg returned %zd, not %zu", r, n);
        r = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
        CHECK(r == NLMSG_LENGTH(sizeof(struct nlmsgerr)), "MSG_PEEK|MSG_TRUNC probe right after sendmsg: %zd", r);
        memset(&from, 0xff, sizeof(from));
        r = recvmsg(fd, &rh, MSG_DONTWAIT);
        CHECK(r == NLMSG_LENGTH(sizeof(struct nlmsgerr)), "recvmsg %zd", r);
        CHECK(rh.msg_namelen == 12 && from.nl_family == AF_NETLINK && from.nl_pid == 0 && from.nl_groups == 0,
              "recvmsg source: length %u family %u pid %u", rh.msg_namelen, from.nl_family, from.nl_pid);
        CHECK(r > 0 && nh->nlmsg_type == NLMSG_ERROR && nh->nlmsg_seq == 77 && nh->nlmsg_pid == FAKE_PORTID &&
                      ((struct nlmsgerr *) NLMSG_DATA(nh))->error == 0,
              "the ack: type %u seq %u", nh->nlmsg_type, nh->nlmsg_seq);
        errno = 0;
        CHECK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN, "nothing else queued");
        kernel.nl_pid = 1;
        errno = 0;
        CHECK(sendto(fd, &req, n, 0, (struct sockaddr *) &kernel, sizeof(kernel)) < 0 && errno == EPERM,
              "sendto another port");
}

/* recvfrom() with a short address buffer, through glibc's fortified
 * __recvfrom_chk (the length is not a constant). */
static void check_recvfrom(int fd)
{
        static volatile size_t want = 256;
        link_req req;
        size_t n = link_req_make(&req, 78, NLM_F_ACK, 0);
        char buf[256];
        unsigned char addr[16];
        socklen_t alen = 4;
        ssize_t r;

        CHECK(send(fd, &req, n, 0) == (ssize_t) n, "send");
        memset(addr, 0xee, sizeof(addr));
        r = recvfrom(fd, buf, want, MSG_DONTWAIT, (struct sockaddr *) addr, &alen);
        CHECK(r == NLMSG_LENGTH(sizeof(struct nlmsgerr)), "recvfrom %zd", r);
        CHECK(alen == 12 && addr[0] == AF_NETLINK && addr[4] == 0xee, "recvfrom address length %u, byte 4 %#x",
              alen, addr[4]);
}

static void check_recvmmsg(int fd)
{
        link_req req;
        size_t n = link_req_make(&req, 90, NLM_F_ACK, 0);
        char bufs[3][128];
        struct sockaddr_nl from[3];
        struct iovec iov[3];
        struct mmsghdr vec[3];
        int r;

        link_req req2 = req;
        struct iovec siov[2] = { { &req, n }, { &req2, n } };
        struct mmsghdr svec[2] = { { .msg_hdr = { .msg_iov = &siov[0], .msg_iovlen = 1 } },
                                   { .msg_hdr = { .msg_iov = &siov[1], .msg_iovlen = 1 } } };

        req2.nh.nlmsg_seq = 91;
        r = sendmmsg(fd, svec, 2, 0);
        CHECK(r == 2 && svec[0].msg_len == n && svec[1].msg_len == n, "sendmmsg %d", r);
        memset(vec, 0, sizeof(vec));
        for (int i = 0; i < 3; i++) {
                iov[i] = (struct iovec) { bufs[i], sizeof(bufs[i]) };
                vec[i].msg_hdr = (struct msghdr) { .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
                                                   .msg_iov = &iov[i], .msg_iovlen = 1 };
        }
        r = recvmmsg(fd, vec, 3, MSG_DONTWAIT, NULL);
        CHECK(r == 2, "recvmmsg %d", r);
        for (int i = 0; i < 2 && r == 2; i++)
                CHECK(vec[i].msg_hdr.msg_namelen == 12 && from[i].nl_family == AF_NETLINK &&
                              ((struct nlmsghdr *) bufs[i])->nlmsg_seq == 90u + (unsigned) i,
                      "message %d", i);
}

/* A request bigger than the shim's stack buffer arrives whole; one bigger
 * than uoad reads (64 KiB) is refused before it is cut. */
static void check_sizes(int fd)
{
        static char big[65536 + 1];
        struct nlmsghdr *nh = (struct nlmsghdr *) big;
        struct iovec iov[3] = { { big, 100 }, { big + 100, 5000 }, { big + 5100, 8192 - 5100 } };
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
        ssize_t r;

        *nh = (struct nlmsghdr) { .nlmsg_len = 8192, .nlmsg_type = RTM_GETLINK, .nlmsg_flags = NLM_F_REQUEST,
                                  .nlmsg_seq = 79 };
        r = sendmsg(fd, &mh, 0);
        CHECK(r == 8192, "8 KiB request: %zd", r);
        nh->nlmsg_len = sizeof(big);
        nh->nlmsg_seq = 80;
        errno = 0;
        CHECK(send(fd, big, sizeof(big), 0) < 0 && errno == EMSGSIZE, "64 KiB + 1 request");
}

static int scenario_proxied(void)
{
        int expect = lowest_free_fd(), fd = nl_open(SOCK_RAW | SOCK_CLOEXEC);
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

        CHECK(fd == expect, "socket() returned fd %d, the lowest free is %d", fd, expect);
        CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "SOCK_CLOEXEC");
        CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK), "blocking, as asked (uoad's end is non-blocking)");
        check_identity(fd, SOCK_RAW);
        check_options(fd);
        CHECK(connect(fd, (struct sockaddr *) &kernel, sizeof(kernel)) == 0, "connect to the kernel");
        check_request_and_ack(fd);
        check_recvfrom(fd);
        check_recvmmsg(fd);
        check_sizes(fd);
        CHECK(close(fd) == 0, "close");
        return 0;
}

static int scenario_flags(void)
{
        int fd = nl_open(SOCK_DGRAM | SOCK_NONBLOCK), v = -1;
        socklen_t len = sizeof(v);
        char buf[64];

        CHECK(fd >= 0, "socket");
        CHECK(fcntl(fd, F_GETFD) == 0, "no SOCK_CLOEXEC asked, none set");
        CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "SOCK_NONBLOCK");
        CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_DGRAM, "SO_TYPE %d", v);
        errno = 0;
        CHECK(recv(fd, buf, sizeof(buf), 0) < 0 && errno == EAGAIN, "non-blocking read");
        return 0;
}

/* Everything that is not a NETLINK_ROUTE socket is left alone. */
static int scenario_passthrough(void)
{
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, from;
        socklen_t len = sizeof(sin);
        int u = socket(AF_INET, SOCK_DGRAM, 0), pair[2], v = -1;
        char buf[16];
        struct iovec iov = { buf, sizeof(buf) };
        struct sockaddr_storage ss;
        struct msghdr mh = { .msg_name = &ss, .msg_namelen = sizeof(ss), .msg_iov = &iov, .msg_iovlen = 1 };

        CHECK(u >= 0, "UDP socket");
        CHECK(bind(u, (struct sockaddr *) &sin, sizeof(sin)) == 0, "UDP bind");
        CHECK(getsockname(u, (struct sockaddr *) &sin, &len) == 0 && sin.sin_family == AF_INET && len == sizeof(sin) &&
                      sin.sin_port != 0,
              "UDP getsockname: family %u length %u", sin.sin_family, len);
        CHECK(sendto(u, "x", 1, 0, (struct sockaddr *) &sin, sizeof(sin)) == 1, "UDP sendto");
        len = sizeof(from);
        CHECK(recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *) &from, &len) == 1 && from.sin_family == AF_INET &&
                      from.sin_port == sin.sin_port,
              "UDP recvfrom source");
        len = sizeof(v);
        CHECK(getsockopt(u, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0 && v == IPPROTO_UDP, "UDP SO_PROTOCOL %d", v);
        CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) == 0, "socketpair");
        CHECK(send(pair[0], "y", 1, 0) == 1, "unix send");
        CHECK(recvmsg(pair[1], &mh, 0) == 1 && mh.msg_namelen == 0, "unix recvmsg: unnamed sender, length %u",
              mh.msg_namelen);
        CHECK(close(u) == 0 && close(pair[0]) == 0 && close(pair[1]) == 0, "close");
        return 0;
}

/* uoad unreachable or refusing: a kernel netlink socket, reads working. */
static int scenario_fallback(void)
{
        int fd = nl_open(SOCK_RAW | SOCK_CLOEXEC), v = -1;
        struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
        socklen_t len = sizeof(nl);
        link_req req;
        size_t n = link_req_make(&req, 5, NLM_F_DUMP, 0);
        char buf[32768];
        ssize_t r;

        CHECK(fd >= 0, "socket");
        CHECK(bind(fd, (struct sockaddr *) &nl, sizeof(nl)) == 0, "bind");
        CHECK(getsockname(fd, (struct sockaddr *) &nl, &len) == 0 && len == 12 && nl.nl_family == AF_NETLINK &&
                      nl.nl_pid != 0 && nl.nl_pid != FAKE_PORTID,
              "kernel getsockname: length %u pid %u", len, nl.nl_pid);
        len = sizeof(v);
        CHECK(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0 && v == NETLINK_ROUTE, "SO_PROTOCOL");
        CHECK(send(fd, &req, n, 0) == (ssize_t) n, "dump request");
        r = recv(fd, buf, sizeof(buf), 0);
        CHECK(r >= (ssize_t) NLMSG_HDRLEN && ((struct nlmsghdr *) buf)->nlmsg_seq == 5, "the kernel's answer: %zd", r);
        return 0;
}

/* uoad closed the data socket: netlink sockets never read end-of-file. */
static int scenario_eof(void)
{
        int fd = nl_open(SOCK_RAW);
        char buf[64];
        link_req req;
        size_t n = link_req_make(&req, 1, NLM_F_ACK, 0);

        CHECK(fd >= 0, "socket");
        errno = 0;
        CHECK(recv(fd, buf, sizeof(buf), 0) < 0 && errno == ECONNRESET, "read after uoad closed");
        errno = 0;
        CHECK(send(fd, &req, n, 0) < 0 && errno == ECONNREFUSED, "send after uoad closed");
        return 0;
}

/* A socket closed behind the shim's back (a raw close system call) whose
 * number is reused by a socket the shim did not make is not treated as
 * netlink any more. */
static int scenario_stale(void)
{
        int fd = nl_open(SOCK_RAW), pair[2];
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        CHECK(fd >= 0, "socket");
        syscall(SYS_close, fd);
        CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) == 0 && pair[0] == fd, "fd %d reused (%d)", fd, pair[0]);
        CHECK(getsockname(pair[0], (struct sockaddr *) &ss, &len) == 0 && ss.ss_family == AF_UNIX,
              "the new socket's own getsockname: family %u", ss.ss_family);
        return 0;
}

static int thread_fd;

/* Each thread's requests have their own length: an answer meant for the
 * other thread would show. */
static void *thread_main(void *arg)
{
        size_t pad = (size_t) (uintptr_t) arg;
        link_req req;
        size_t n = link_req_make(&req, 1000, 0, pad);
        int bad = 0;

        for (int i = 0; i < THREAD_ROUNDS; i++)
                bad += send(thread_fd, &req, n, 0) != (ssize_t) n;
        return (void *) (uintptr_t) bad;
}

static int scenario_threads(void)
{
        pthread_t t[2];
        void *bad[2];

        thread_fd = nl_open(SOCK_RAW);
        CHECK(thread_fd >= 0, "socket");
        pthread_create(&t[0], NULL, thread_main, (void *) (uintptr_t) 0);
        pthread_create(&t[1], NULL, thread_main, (void *) (uintptr_t) 32);
        pthread_join(t[0], &bad[0]);
        pthread_join(t[1], &bad[1]);
        CHECK(bad[0] == NULL && bad[1] == NULL, "sends answered with another thread's length: %zu + %zu",
              (size_t) (uintptr_t) bad[0], (size_t) (uintptr_t) bad[1]);
        return 0;
}

/* What glibc's interface calls return, with the shim in front of them:
 * "ifa NAME inet|inet6 ADDR", "ifa NAME packet", "index NAME",
 * "nametoindex lo ok|hidden", "indextoname 1 ok|hidden", "only-lo: yes|no",
 * "freed" (tests/test_preload.c judges). */
static int scenario_ifview(void)
{
        struct ifaddrs *list = NULL;
        struct if_nameindex *idx;
        char name[IF_NAMESIZE], text[INET6_ADDRSTRLEN];
        bool only_lo = true;

        CHECK(getifaddrs(&list) == 0, "getifaddrs: %s", strerror(errno));
        for (struct ifaddrs *a = list; a; a = a->ifa_next) {
                int fam = a->ifa_addr ? a->ifa_addr->sa_family : AF_UNSPEC;

                only_lo &= strcmp(a->ifa_name, "lo") == 0;
                if (fam == AF_INET)
                        printf("ifa %s inet %s\n", a->ifa_name,
                               inet_ntop(fam, &((struct sockaddr_in *) a->ifa_addr)->sin_addr, text, sizeof(text)));
                else if (fam == AF_INET6)
                        printf("ifa %s inet6 %s\n", a->ifa_name,
                               inet_ntop(fam, &((struct sockaddr_in6 *) a->ifa_addr)->sin6_addr, text, sizeof(text)));
                else if (fam == AF_PACKET)
                        printf("ifa %s packet\n", a->ifa_name);
        }
        freeifaddrs(list);
        idx = if_nameindex();
        CHECK(idx != NULL, "if_nameindex: %s", strerror(errno));
        for (struct if_nameindex *i = idx; i && i->if_index; i++) {
                only_lo &= strcmp(i->if_name, "lo") == 0;
                printf("index %s\n", i->if_name);
        }
        if_freenameindex(idx);
        printf("nametoindex lo %s\n", if_nametoindex("lo") ? "ok" : "hidden");
        printf("indextoname 1 %s\n", if_indextoname(1, name) ? "ok" : "hidden");
        printf("only-lo: %s\n", only_lo ? "yes" : "no");
        printf("freed\n");
        return 0;
}

int main(int argc, char **argv)
{
        static const struct {
                const char *name;
                int (*fn)(void);
        } scenarios[] = {
                { "proxied", scenario_proxied }, { "flags", scenario_flags },   { "passthrough", scenario_passthrough },
                { "fallback", scenario_fallback }, { "eof", scenario_eof },     { "stale", scenario_stale },
                { "threads", scenario_threads }, { "ifview", scenario_ifview },
        };

        setvbuf(stdout, NULL, _IOLBF, 0);
        alarm(CLIENT_TIMEOUT_S);
        for (size_t i = 0; argc == 2 && i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
                if (strcmp(argv[1], scenarios[i].name) == 0) {
                        scenarios[i].fn();
                        printf("ok %d\n", checks - failures);
                        return failures ? 1 : 0;
                }
        fprintf(stderr, "usage: uoa-nlclient proxied|flags|passthrough|fallback|eof|stale|threads|ifview\n");
        return 2;
}
