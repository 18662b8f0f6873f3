/* tests/integration/attack.c: what a hostile slice process tries, one
 * attempt per subcommand, for the integration suite's invariant tests.
 * Prints one line: "ok ..." when the attempt got through, "err ENAME" when
 * the call failed; exit 0 / 1 (2 for usage). Built statically too, so the
 * same attacks run without any help from libc wrappers or the shim. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/fastpath.h"

static int fail(int e)
{
        printf("err %s\n", strerrorname_np(e) ? strerrorname_np(e) : "?");
        return 1;
}

static int sockaddr_of(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
        struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;

        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t) port);
                *len = sizeof(*s4);
                return AF_INET;
        }
        if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t) port);
                *len = sizeof(*s6);
                return AF_INET6;
        }
        fprintf(stderr, "bad address %s\n", ip);
        exit(2);
}

/* Wait up to 1 s for the echo's reply: a reply means the packet left. */
static int await_reply(int fd)
{
        struct timeval tv = { .tv_sec = 1 };
        char buf[128];
        ssize_t n;

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
                return fail(errno == EAGAIN ? ETIMEDOUT : errno);
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        printf("ok seen=%s\n", buf);
        return 0;
}

/* UDP sendmsg whose IP_PKTINFO / IPV6_PKTINFO names another source. */
static int attack_pktinfo(const char *spoof, const char *dst, int port)
{
        struct sockaddr_storage ss;
        socklen_t len;
        int family = sockaddr_of(dst, port, &ss, &len), fd;
        char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] = {};
        struct iovec iov = { .iov_base = "hello\n", .iov_len = 6 };
        struct msghdr mh = { .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1,
                             .msg_control = cbuf };
        struct cmsghdr *c = (struct cmsghdr *) cbuf;

        fd = socket(family, SOCK_DGRAM, 0);
        if (family == AF_INET) {
                struct in_pktinfo pi = {};

                inet_pton(AF_INET, spoof, &pi.ipi_spec_dst);
                c->cmsg_level = SOL_IP;
                c->cmsg_type = IP_PKTINFO;
                c->cmsg_len = CMSG_LEN(sizeof(pi));
                memcpy(CMSG_DATA(c), &pi, sizeof(pi));
                mh.msg_controllen = CMSG_SPACE(sizeof(pi));
        } else {
                struct in6_pktinfo pi = {};

                inet_pton(AF_INET6, spoof, &pi.ipi6_addr);
                c->cmsg_level = SOL_IPV6;
                c->cmsg_type = IPV6_PKTINFO;
                c->cmsg_len = CMSG_LEN(sizeof(pi));
                memcpy(CMSG_DATA(c), &pi, sizeof(pi));
                mh.msg_controllen = CMSG_SPACE(sizeof(pi));
        }
        if (sendmsg(fd, &mh, 0) < 0)
                return fail(errno);
        return await_reply(fd);
}

/* sendto with the shim's "bound socket" mark (common/fastpath.h) on an
 * unbound UDP socket: not trapped, so the kernel picks the source; the
 * guard must drop it. */
static int attack_sendto_mark(const char *dst, int port)
{
        struct sockaddr_storage ss;
        socklen_t len;
        int fd = socket(sockaddr_of(dst, port, &ss, &len), SOCK_DGRAM, 0);

        if (syscall(SYS_sendto, fd, "hello\n", 6, 0, &ss, UOA_SENDTO_BOUND_LEN) < 0)
                return fail(errno);
        return await_reply(fd);
}

/* The mark with MSG_FASTOPEN on an unbound TCP socket: it must still trap,
 * so the connection leaves from the slice's address. */
static int attack_sendto_mark_fastopen(const char *dst, int port)
{
        struct sockaddr_storage ss, me;
        socklen_t len, ml = sizeof(me);
        char local[INET6_ADDRSTRLEN] = "?";
        int family = sockaddr_of(dst, port, &ss, &len), fd = socket(family, SOCK_STREAM, 0);

        if (syscall(SYS_sendto, fd, "hello\n", 6, MSG_FASTOPEN, &ss, UOA_SENDTO_BOUND_LEN) < 0 ||
            getsockname(fd, (struct sockaddr *) &me, &ml) < 0)
                return fail(errno);
        inet_ntop(family, family == AF_INET ? (void *) &((struct sockaddr_in *) &me)->sin_addr
                                            : (void *) &((struct sockaddr_in6 *) &me)->sin6_addr,
                  local, sizeof(local));
        printf("ok local=%s\n", local);
        return 0;
}

/* N x (libc sendto + reply) on one UDP socket: with the shim, only the first
 * sendto (unbound socket) may cost a round trip; the suite counts them. */
static int sendto_repeat(const char *dst, int port, int n)
{
        struct sockaddr_storage ss, me;
        socklen_t len, ml = sizeof(me);
        int fd = socket(sockaddr_of(dst, port, &ss, &len), SOCK_DGRAM, 0);
        struct timeval tv = { .tv_sec = 1 };
        char local[INET6_ADDRSTRLEN] = "?", buf[128];

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        for (int i = 0; i < n; i++) {
                if (sendto(fd, "hello\n", 6, 0, (struct sockaddr *) &ss, len) < 0)
                        return fail(errno);
                if (recv(fd, buf, sizeof(buf), 0) < 0)
                        return fail(errno == EAGAIN ? ETIMEDOUT : errno);
        }
        if (getsockname(fd, (struct sockaddr *) &me, &ml) < 0)
                return fail(errno);
        inet_ntop(AF_INET, &((struct sockaddr_in *) &me)->sin_addr, local, sizeof(local));
        printf("ok local=%s sent=%d\n", local, n);
        return 0;
}

static uint16_t ip_checksum(const void *p, size_t len)
{
        const uint16_t *w = p;
        uint32_t sum = 0;

        for (; len > 1; len -= 2)
                sum += *w++;
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return (uint16_t) ~sum;
}

/* A raw IPPROTO_RAW (header included) UDP datagram with a forged source. */
static int attack_hdrincl(const char *spoof, const char *dst, int port)
{
        struct {
                struct iphdr ip;
                struct udphdr udp;
                char data[6];
        } __attribute__((packed)) pkt = {};
        struct sockaddr_in sa = { .sin_family = AF_INET };
        int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);

        if (fd < 0)
                return fail(errno);
        inet_pton(AF_INET, dst, &sa.sin_addr);
        pkt.ip = (struct iphdr) { .ihl = 5, .version = 4, .tot_len = htons(sizeof(pkt)), .ttl = 64,
                                  .protocol = IPPROTO_UDP, .daddr = sa.sin_addr.s_addr };
        inet_pton(AF_INET, spoof, &pkt.ip.saddr);
        pkt.ip.check = ip_checksum(&pkt.ip, sizeof(pkt.ip));
        pkt.udp = (struct udphdr) { .source = htons(40000), .dest = htons((uint16_t) port),
                                    .len = htons(sizeof(pkt.udp) + sizeof(pkt.data)) };
        memcpy(pkt.data, "hello\n", 6);
        if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return fail(errno);
        printf("ok sent\n");
        return 0;
}

static int attack_socket(long domain, int type, int protocol)
{
        long fd = syscall(SYS_socket, domain, type, protocol);

        if (fd < 0)
                return fail(errno);
        printf("ok fd=%ld\n", fd);
        return 0;
}

static int attack_bindtodevice(const char *ifname)
{
        int fd = socket(AF_INET, SOCK_DGRAM, 0);

        if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t) strlen(ifname)) < 0)
                return fail(errno);
        printf("ok bound to %s\n", ifname);
        return 0;
}

static int attack_io_uring(void)
{
        struct io_uring_params p = {};
        long fd = syscall(SYS_io_uring_setup, 4, &p);

        if (fd < 0)
                return fail(errno);
        printf("ok io_uring fd=%ld\n", fd);
        return 0;
}

/* getpid through the x32 ABI and through int 0x80 (i386): the filter must
 * kill the process (exit by SIGSYS), never run them unchecked. */
static int attack_x32(void)
{
        long r = syscall(0x40000000L | SYS_getpid);

        printf("ok x32 returned %ld\n", r);
        return 0;
}

static int attack_i386(void)
{
        long r;

        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L /* i386 getpid */) : "memory");
        printf("ok int80 returned %ld\n", r);
        return 0;
}

/* Raise every capability through capset (uoad answers "done"), then use
 * one: the process must still hold none, and SO_MARK (CAP_NET_ADMIN) fails. */
static int attack_capset(void)
{
        struct { uint32_t version; int pid; } hdr = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
        struct { uint32_t effective, permitted, inheritable; } data[2];
        int fd = socket(AF_INET, SOCK_DGRAM, 0), mark = 1;

        memset(data, 0xff, sizeof(data));
        if (syscall(SYS_capset, &hdr, data) < 0) {
                printf("err capset:%s (not virtualised)\n", strerrorname_np(errno));
                return 1;
        }
        memset(data, 0, sizeof(data));
        if (syscall(SYS_capget, &hdr, data) < 0) {
                printf("err capget:%s\n", strerrorname_np(errno));
                return 1;
        }
        if (data[0].effective || data[0].permitted) {
                printf("ok capabilities granted: effective %#x\n", data[0].effective);
                return 0;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0) {
                printf("ok SO_MARK set without CAP_NET_ADMIN\n");
                return 0;
        }
        return fail(errno);
}

static int attack_nnp(void)
{
        int v = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);

        printf("%s no_new_privs=%d\n", v == 1 ? "ok" : "err", v);
        return v == 1 ? 0 : 1;
}

/* connect from a second thread: notifications carry a thread id. */
struct thread_arg {
        struct sockaddr_storage ss;
        socklen_t len;
        int family, err;
        char local[INET6_ADDRSTRLEN];
};

static void *thread_connect(void *p)
{
        struct thread_arg *a = p;
        struct sockaddr_storage me;
        socklen_t ml = sizeof(me);
        int fd = socket(a->family, SOCK_STREAM, 0);

        if (connect(fd, (struct sockaddr *) &a->ss, a->len) < 0 || getsockname(fd, (struct sockaddr *) &me, &ml) < 0)
                a->err = errno;
        else if (a->family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *) &me)->sin_addr, a->local, sizeof(a->local));
        else
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &me)->sin6_addr, a->local, sizeof(a->local));
        return NULL;
}

static int attack_thread(const char *dst, int port)
{
        struct thread_arg a = {};
        pthread_t t;

        a.family = sockaddr_of(dst, port, &a.ss, &a.len);
        pthread_create(&t, NULL, thread_connect, &a);
        pthread_join(t, NULL);
        if (a.err)
                return fail(a.err);
        printf("ok local=%s\n", a.local);
        return 0;
}

/* listen with the upper half of the int backlog set: the kernel ignores it
 * (and uoad must, now that it makes the call): the listener's backlog, which
 * TCP_INFO reports in tcpi_sacked for a listening socket, is the low half. */
static int attack_listen_upper32(void)
{
        struct sockaddr_storage ss;
        struct tcp_info ti = {};
        socklen_t len, tl = sizeof(ti);
        int fd = socket(sockaddr_of("0.0.0.0", 0, &ss, &len), SOCK_STREAM, 0);

        if (bind(fd, (struct sockaddr *) &ss, len) < 0 || syscall(SYS_listen, fd, (1L << 32) | 3) < 0 ||
            getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0)
                return fail(errno);
        printf("ok backlog=%u\n", ti.tcpi_sacked);
        return 0;
}

/* The fd-number swap (issue 19): one thread keeps dup2-ing a harmless socket
 * and the INET socket under attack onto one number while another calls
 * bind or listen on that number. A supervisor that decides on what the
 * number names and then lets the kernel look the number up again loses. */
#define RACE_SECONDS 3
#define RACE_NUM 200 /* the contested fd number */

struct race {
        int harmless, inet; /* fd numbers; inet's file is replaced when spent */
        atomic_bool stop;
};

static void *race_swapper(void *p)
{
        struct race *r = p;

        while (!atomic_load(&r->stop)) {
                dup2(r->harmless, RACE_NUM);
                dup2(r->inet, RACE_NUM);
        }
        return NULL;
}

/* A fresh unbound socket at number fd, atomically for the swapper. */
static void race_renew(int fd, int family)
{
        int s = socket(family, SOCK_STREAM, 0);

        dup2(s, fd);
        close(s);
}

static double seconds_since(const struct timespec *t0)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double) (t.tv_sec - t0->tv_sec) + (double) (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void addr_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
        const struct sockaddr_in *s4 = (const void *) ss;
        const struct sockaddr_in6 *s6 = (const void *) ss;
        char a[INET6_ADDRSTRLEN] = "?";

        if (ss->ss_family == AF_INET6) {
                inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
                snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
        } else {
                inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
                snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
        }
}

/* What the INET socket is bound to: 1 bound, 0 not yet. */
static int race_bound(int fd, struct sockaddr_storage *me)
{
        socklen_t ml = sizeof(*me);

        memset(me, 0, sizeof(*me));
        if (getsockname(fd, (struct sockaddr *) me, &ml) < 0)
                return 0;
        return ((struct sockaddr_in *) me)->sin_port != 0; /* same offset in sin6 */
}

static bool addr_port_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
        if (a->ss_family != b->ss_family)
                return false;
        if (a->ss_family == AF_INET)
                return !memcmp(a, b, sizeof(struct sockaddr_in)); /* zero padding on both */
        return !memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr, &((const struct sockaddr_in6 *) b)->sin6_addr,
                       16) && ((const struct sockaddr_in6 *) a)->sin6_port == ((const struct sockaddr_in6 *) b)->sin6_port;
}

/* Thread 2's loop: call(RACE_NUM) until the INET socket ends up as won()
 * says (the attack got through), or tries / RACE_SECONDS run out. When
 * uoad rightly acts on the INET socket (binding it to the slice's address)
 * the socket is spent: replace it and go on. */
static int race_run(struct race *r, int family, long tries, int (*call)(void *), void *arg,
                    bool (*won)(int fd, const struct sockaddr_storage *me, void *arg))
{
        struct sockaddr_storage me;
        struct timespec t0;
        char buf[INET6_ADDRSTRLEN + 8];
        pthread_t t;
        long k;
        int e1 = 0, e2 = 0;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        pthread_create(&t, NULL, race_swapper, r);
        for (k = 1; k <= tries && seconds_since(&t0) < RACE_SECONDS; k++) {
                if (call(arg) < 0) {
                        e1 = e1 ? e1 : errno;
                        e2 = errno != e1 ? errno : e2;
                        continue;
                }
                if (!race_bound(r->inet, &me))
                        continue;
                if (won(r->inet, &me, arg))
                        break;
                race_renew(r->inet, family);
        }
        atomic_store(&r->stop, true);
        pthread_join(t, NULL);
        if (k <= tries && race_bound(r->inet, &me) && won(r->inet, &me, arg)) {
                addr_format(&me, buf, sizeof(buf));
                printf("ok won after %ld tries local=%s\n", k, buf);
                return 0;
        }
        printf("err held after %ld tries\n", k - 1);
        fprintf(stderr, "%.1f s; errors %s %s\n", seconds_since(&t0), e1 ? strerrorname_np(e1) : "none",
                e2 ? strerrorname_np(e2) : "");
        return 1;
}

struct race_bind {
        struct sockaddr_storage ss;
        socklen_t len;
};

static int race_bind_call(void *p)
{
        struct race_bind *b = p;

        return bind(RACE_NUM, (struct sockaddr *) &b->ss, b->len);
}

/* Won: the socket holds exactly what was asked, never the slice's (uoad
 * rewrites the wildcard and refuses everything else that is not the slice's). */
static bool race_bind_won(int fd, const struct sockaddr_storage *me, void *p)
{
        (void) fd;
        return addr_port_equal(me, &((struct race_bind *) p)->ss);
}

static int attack_dup2_race_bind(const char *ip, int port, long tries)
{
        struct race r = { .harmless = socket(AF_UNIX, SOCK_DGRAM, 0) };
        struct race_bind b;
        int family = sockaddr_of(ip, port, &b.ss, &b.len);

        r.inet = socket(family, SOCK_STREAM, 0);
        if (r.harmless < 0 || r.inet < 0)
                return fail(errno);
        return race_run(&r, family, tries, race_bind_call, &b, race_bind_won);
}

static int race_listen_call(void *p)
{
        (void) p;
        return listen(RACE_NUM, 1);
}

/* Won: the once unbound socket listens on the real wildcard. */
static bool race_listen_won(int fd, const struct sockaddr_storage *me, void *p)
{
        struct sockaddr_storage any;
        socklen_t len;
        int listening = 0;

        (void) p;
        len = sizeof(listening);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
                return false;
        sockaddr_of(me->ss_family == AF_INET6 ? "::" : "0.0.0.0", 0, &any, &len);
        ((struct sockaddr_in *) &any)->sin_port = ((const struct sockaddr_in *) me)->sin_port;
        return addr_port_equal(me, &any);
}

/* The harmless socket here is an INET socket the slice bound (uoad gives it
 * the slice's address): listen on it is allowed as it is. */
static int attack_dup2_race_listen(int family, long tries)
{
        struct race r = { .harmless = socket(family, SOCK_STREAM, 0), .inet = socket(family, SOCK_STREAM, 0) };
        struct sockaddr_storage ss;
        socklen_t len;

        sockaddr_of(family == AF_INET6 ? "::" : "0.0.0.0", 0, &ss, &len);
        if (r.harmless < 0 || r.inet < 0 || bind(r.harmless, (struct sockaddr *) &ss, len) < 0)
                return fail(errno);
        return race_run(&r, family, tries, race_listen_call, NULL, race_listen_won);
}

/* N threads bind unix sockets below DIR, where a FUSE server never answers
 * (uoa-stallfs): each bind blocks in uoad's thread for it. After 1.5 s,
 * report how many still wait and how many got EAGAIN (uoad's cap on a
 * slice's waiting calls), then hold HOLD s with the rest still waiting. */
struct stall {
        char path[108];
        atomic_int *done, *eagain;
};

static void *stall_bind(void *p)
{
        struct stall *st = p;
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);

        memcpy(sun.sun_path, st->path, strlen(st->path));
        if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0 && errno == EAGAIN)
                atomic_fetch_add(st->eagain, 1);
        atomic_fetch_add(st->done, 1);
        return NULL;
}

static int attack_stall_binds(const char *dir, int n, int hold)
{
        static struct stall st[1024];
        atomic_int done = 0, eagain = 0;
        pthread_t t;

        if (n < 1 || n > 1024 || strlen(dir) > 80)
                return 2;
        for (int i = 0; i < n; i++) {
                st[i] = (struct stall) { .done = &done, .eagain = &eagain };
                snprintf(st[i].path, sizeof(st[i].path), "%s/x%d.sock", dir, i);
                if (pthread_create(&t, NULL, stall_bind, &st[i]) != 0)
                        return fail(EAGAIN);
                pthread_detach(t);
        }
        usleep(1500 * 1000);
        printf("ok waiting=%d eagain=%d other=%d\n", n - atomic_load(&done), atomic_load(&eagain),
               atomic_load(&done) - atomic_load(&eagain));
        fflush(stdout);
        sleep((unsigned) hold);
        _exit(0); /* the waiting threads die with the process */
}

/* Bind an INET socket with a sockaddr in memory mapped from FILE, a file
 * whose reads never return (uoa-stallfs --file): whoever reads the address
 * blocks. Prints how the bind ended, when it ends. */
static int attack_stall_sockaddr(const char *file)
{
        int fd = open(file, O_RDONLY), s = socket(AF_INET, SOCK_STREAM, 0);
        void *m = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

        if (m == MAP_FAILED || s < 0)
                return fail(errno);
        if (bind(s, (struct sockaddr *) m, sizeof(struct sockaddr_in)) < 0)
                return fail(errno);
        printf("ok bound\n");
        return 0;
}

int main(int argc, char **argv)
{
        const char *cmd = argc > 1 ? argv[1] : "";

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (!strcmp(cmd, "pktinfo") && argc == 5)
                return attack_pktinfo(argv[2], argv[3], atoi(argv[4]));
        if (!strcmp(cmd, "hdrincl") && argc == 5)
                return attack_hdrincl(argv[2], argv[3], atoi(argv[4]));
        if (!strcmp(cmd, "raw") && argc == 2)
                return attack_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
        if (!strcmp(cmd, "packet") && argc == 2)
                return attack_socket(AF_PACKET, SOCK_RAW, 0);
        /* The same with the upper half of the int argument set: the kernel
         * ignores it, a filter comparing 64 bits would be fooled. */
        if (!strcmp(cmd, "packet-upper32") && argc == 2)
                return attack_socket((1L << 32) | AF_PACKET, SOCK_RAW, 0);
        if (!strcmp(cmd, "bindtodevice") && argc == 3)
                return attack_bindtodevice(argv[2]);
        if (!strcmp(cmd, "io_uring") && argc == 2)
                return attack_io_uring();
        if (!strcmp(cmd, "x32") && argc == 2)
                return attack_x32();
        if (!strcmp(cmd, "i386") && argc == 2)
                return attack_i386();
        if (!strcmp(cmd, "nnp") && argc == 2)
                return attack_nnp();
        if (!strcmp(cmd, "capset") && argc == 2)
                return attack_capset();
        if (!strcmp(cmd, "sendto-mark") && argc == 4)
                return attack_sendto_mark(argv[2], atoi(argv[3]));
        if (!strcmp(cmd, "sendto-mark-fastopen") && argc == 4)
                return attack_sendto_mark_fastopen(argv[2], atoi(argv[3]));
        if (!strcmp(cmd, "sendto-repeat") && argc == 5)
                return sendto_repeat(argv[2], atoi(argv[3]), atoi(argv[4]));
        if (!strcmp(cmd, "thread-connect") && argc == 4)
                return attack_thread(argv[2], atoi(argv[3]));
        if (!strcmp(cmd, "listen-upper32") && argc == 2)
                return attack_listen_upper32();
        if (!strcmp(cmd, "dup2-race-bind") && (argc == 4 || argc == 5))
                return attack_dup2_race_bind(argv[2], atoi(argv[3]), argc == 5 ? atol(argv[4]) : 20000);
        if (!strcmp(cmd, "dup2-race-listen") && (argc == 3 || argc == 4))
                return attack_dup2_race_listen(atoi(argv[2]) == 6 ? AF_INET6 : AF_INET,
                                               argc == 4 ? atol(argv[3]) : 20000);
        if (!strcmp(cmd, "stall-sockaddr") && argc == 3)
                return attack_stall_sockaddr(argv[2]);
        if (!strcmp(cmd, "stall-binds") && argc == 5)
                return attack_stall_binds(argv[2], atoi(argv[3]), atoi(argv[4]));
        fprintf(stderr, "usage: uoa-attack pktinfo SPOOF DST PORT | hdrincl SPOOF DST PORT | raw | packet |\n"
                        "       packet-upper32 | bindtodevice IFNAME | io_uring | x32 | i386 | nnp | capset |\n"
                        "       thread-connect DST PORT | sendto-mark DST PORT | listen-upper32 |\n"
                        "       sendto-mark-fastopen DST PORT | sendto-repeat DST4 PORT N |\n"
                        "       dup2-race-bind ADDR PORT [TRIES] | dup2-race-listen 4|6 [TRIES] |\n"
                        "       stall-binds DIR N HOLD | stall-sockaddr FILE\n");
        return 2;
}
