/* bench/rr.c: request/response and stream throughput, netperf-style, small
 * enough to build static and run under uoa-run. IPv4 only.
 *   rr udp-server PORT          echo every datagram back to its sender
 *   rr tcp-server PORT          echo on each connection (one process per client)
 *   rr udp-rr DST PORT N        N x (sendto(DST) + recvfrom), 1 byte each way
 *   rr tcp-rr DST PORT N        one connection, N x (write + read), 1 byte
 *   rr tcp-crr DST PORT N       N x (connect, 1-byte write + read, close)
 *   rr tcp-stream DST PORT SECS send 64 KiB writes for SECS seconds
 *   rr udp-stream DST PORT SECS sendto(DST) 1400-byte datagrams for SECS s
 *   rr route DST PORT N [SRC]   N x (connect(DST) + connect(AF_UNSPEC)) on one
 *                               UDP socket (bound to SRC if given): the route
 *                               lookups alone, no packet sent
 * The clients print "<test> <rate> <unit>": transactions per second, or
 * Mbit/s for the streams (UDP: as received by the server, which reports its
 * count back over the same socket at the end). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define UDP_PAYLOAD 1400
#define TCP_CHUNK (64 * 1024)

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
        perror(what);
        exit(1);
}

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(port)) };

        if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
                fprintf(stderr, "rr: bad address %s\n", ip);
                exit(2);
        }
        return sa;
}

static void set_timeout(int fd, int secs)
{
        struct timeval tv = { .tv_sec = secs };

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* UDP echo server. A datagram starting with 'S' is stream data (counted,
 * not echoed); 'E' ends a stream: reply with the byte count; anything else
 * is echoed. */
static _Noreturn void udp_server(const char *port)
{
        struct sockaddr_in sa = addr_of("0.0.0.0", port), from;
        int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1, big = 4 << 20;
        char buf[65536];
        uint64_t bytes = 0;

        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                die("bind");
        printf("ready\n");
        fflush(stdout);
        for (;;) {
                socklen_t len = sizeof(from);
                ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *) &from, &len);

                if (n <= 0)
                        continue;
                if (buf[0] == 'S') {
                        bytes += (uint64_t) n;
                } else if (buf[0] == 'E') {
                        char r[32];
                        int l = snprintf(r, sizeof(r), "%llu", (unsigned long long) bytes);

                        sendto(fd, r, (size_t) l, 0, (struct sockaddr *) &from, len);
                        bytes = 0;
                } else {
                        sendto(fd, buf, (size_t) n, 0, (struct sockaddr *) &from, len);
                }
        }
}

/* One process, poll() over the listener and every connection: a 1-byte
 * read is echoed (rr, crr), longer reads are stream data and discarded. */
#define MAXCONN 256
static _Noreturn void tcp_server(const char *port)
{
        static char buf[TCP_CHUNK];
        struct sockaddr_in sa = addr_of("0.0.0.0", port);
        struct pollfd pf[MAXCONN + 1];
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, n = 1;

        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0)
                die("listen");
        pf[0] = (struct pollfd) { .fd = fd, .events = POLLIN };
        printf("ready\n");
        fflush(stdout);
        for (;;) {
                if (poll(pf, (nfds_t) n, -1) < 0)
                        continue;
                for (int i = n - 1; i >= 1; i--) {
                        ssize_t r;

                        if (!pf[i].revents)
                                continue;
                        r = read(pf[i].fd, buf, sizeof(buf));
                        if (r == 1 && write(pf[i].fd, buf, 1) == 1)
                                continue;
                        if (r > 1 || (r < 0 && errno == EAGAIN))
                                continue;
                        close(pf[i].fd);
                        pf[i] = pf[--n];
                }
                if (pf[0].revents) {
                        int c = accept(fd, NULL, NULL);

                        if (c < 0)
                                continue;
                        if (n > MAXCONN) {
                                close(c);
                                continue;
                        }
                        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                        pf[n++] = (struct pollfd) { .fd = c, .events = POLLIN };
                }
        }
}

static void report(const char *test, double rate, const char *unit)
{
        printf("%s %.1f %s\n", test, rate, unit);
}

static int udp_rr(const struct sockaddr_in *dst, long n)
{
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        char b = 'x';
        double t0;

        if (fd < 0)
                die("socket");
        set_timeout(fd, 3);
        t0 = now_s();
        for (long i = 0; i < n; i++) {
                struct sockaddr_in from;
                socklen_t len = sizeof(from);

                if (sendto(fd, &b, 1, 0, (const struct sockaddr *) dst, sizeof(*dst)) != 1)
                        die("sendto");
                if (recvfrom(fd, &b, 1, 0, (struct sockaddr *) &from, &len) != 1)
                        die("recvfrom");
        }
        report("udp-rr", (double) n / (now_s() - t0), "trans/s");
        return 0;
}

/* Each connect of a UDP socket looks its route up (an unbound one twice:
 * without a source, then with the one chosen); AF_UNSPEC undoes it. */
static int route(const struct sockaddr_in *dst, long n, const char *src)
{
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in bound = { .sin_family = AF_INET };
        const struct sockaddr unspec = { .sa_family = AF_UNSPEC };
        double t0;

        if (fd < 0)
                die("socket");
        if (src && (inet_pton(AF_INET, src, &bound.sin_addr) != 1 ||
                    bind(fd, (const struct sockaddr *) &bound, sizeof(bound)) < 0))
                die("bind");
        t0 = now_s();
        for (long i = 0; i < n; i++)
                if (connect(fd, (const struct sockaddr *) dst, sizeof(*dst)) < 0 ||
                    connect(fd, &unspec, sizeof(unspec)) < 0)
                        die("connect");
        report("route", (double) n / (now_s() - t0), "lookups/s");
        return 0;
}

static int tcp_connect(const struct sockaddr_in *dst)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

        if (fd < 0)
                die("socket");
        if (connect(fd, (const struct sockaddr *) dst, sizeof(*dst)) < 0)
                die("connect");
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        set_timeout(fd, 3);
        return fd;
}

static int tcp_rr(const struct sockaddr_in *dst, long n)
{
        int fd = tcp_connect(dst);
        char b = 'x';
        double t0 = now_s();

        for (long i = 0; i < n; i++)
                if (write(fd, &b, 1) != 1 || read(fd, &b, 1) != 1)
                        die("tcp-rr");
        report("tcp-rr", (double) n / (now_s() - t0), "trans/s");
        close(fd);
        return 0;
}

static int tcp_crr(const struct sockaddr_in *dst, long n)
{
        char b = 'x';
        double t0 = now_s();

        for (long i = 0; i < n; i++) {
                int fd = tcp_connect(dst);
                struct linger lg = { 1, 0 }; /* RST on close: no TIME_WAIT pile-up */

                if (write(fd, &b, 1) != 1 || read(fd, &b, 1) != 1)
                        die("tcp-crr");
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                close(fd);
        }
        report("tcp-crr", (double) n / (now_s() - t0), "trans/s");
        return 0;
}

static int tcp_stream(const struct sockaddr_in *dst, double secs)
{
        static char buf[TCP_CHUNK];
        int fd = tcp_connect(dst);
        uint64_t bytes = 0;
        double t0 = now_s(), t;

        memset(buf, 'S', sizeof(buf));
        while ((t = now_s() - t0) < secs) {
                ssize_t n = write(fd, buf, sizeof(buf));

                if (n <= 0)
                        die("write");
                bytes += (uint64_t) n;
        }
        report("tcp-stream", (double) bytes * 8 / t / 1e6, "Mbit/s");
        close(fd);
        return 0;
}

static int udp_stream(const struct sockaddr_in *dst, double secs)
{
        static char buf[UDP_PAYLOAD];
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        double t0 = now_s(), t;
        char r[32] = { 0 };

        if (fd < 0)
                die("socket");
        memset(buf, 'S', sizeof(buf));
        while ((t = now_s() - t0) < secs)
                if (sendto(fd, buf, sizeof(buf), 0, (const struct sockaddr *) dst, sizeof(*dst)) < 0 &&
                    errno != ENOBUFS)
                        die("sendto");
        usleep(100000); /* let the server drain its queue */
        set_timeout(fd, 1);
        for (int i = 0; i < 5; i++) {
                if (sendto(fd, "E", 1, 0, (const struct sockaddr *) dst, sizeof(*dst)) != 1)
                        die("sendto");
                if (recv(fd, r, sizeof(r) - 1, 0) > 0)
                        break;
        }
        report("udp-stream", (double) strtoull(r, NULL, 10) * 8 / t / 1e6, "Mbit/s");
        return 0;
}

int main(int argc, char **argv)
{
        struct sockaddr_in dst;

        if (argc == 3 && strcmp(argv[1], "udp-server") == 0)
                udp_server(argv[2]);
        if (argc == 3 && strcmp(argv[1], "tcp-server") == 0)
                tcp_server(argv[2]);
        if (argc == 5 + (argc > 1 && strcmp(argv[1], "route") == 0 && argc == 6)) {
                dst = addr_of(argv[2], argv[3]);
        } else {
                fprintf(stderr, "usage: rr udp-server|tcp-server PORT\n"
                                "       rr udp-rr|tcp-rr|tcp-crr DST PORT N\n"
                                "       rr tcp-stream|udp-stream DST PORT SECONDS\n"
                                "       rr route DST PORT N [SRC]\n");
                return 2;
        }
        if (strcmp(argv[1], "route") == 0)
                return route(&dst, atol(argv[4]), argc == 6 ? argv[5] : NULL);
        if (strcmp(argv[1], "udp-rr") == 0)
                return udp_rr(&dst, atol(argv[4]));
        if (strcmp(argv[1], "tcp-rr") == 0)
                return tcp_rr(&dst, atol(argv[4]));
        if (strcmp(argv[1], "tcp-crr") == 0)
                return tcp_crr(&dst, atol(argv[4]));
        if (strcmp(argv[1], "tcp-stream") == 0)
                return tcp_stream(&dst, atof(argv[4]));
        if (strcmp(argv[1], "udp-stream") == 0)
                return udp_stream(&dst, atof(argv[4]));
        fprintf(stderr, "rr: unknown test %s\n", argv[1]);
        return 2;
}
