/* tests/integration/echo.c: uoa-echo, the peer the integration suite talks
 * to. It answers every TCP line and every UDP datagram with the source
 * address and port it saw ("ADDR PORT\n"), which is what the suite checks.
 * With --log it also prints each of them ("udp ADDR PORT"): a local receiver
 * then shows what arrived even when the reply went to a forged source. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 64
#define CONN_TIMEOUT_MS 2000
#define LINE_MAX_LEN 512

struct conn {
        int fd; /* -1: slot free */
        struct sockaddr_storage peer;
        size_t len;
        long long deadline_ms;
        char buf[LINE_MAX_LEN];
};

static volatile sig_atomic_t stop;
static struct conn conns[MAX_CONN];
static bool arg_log;

static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "ADDR PORT\n"; a v4-mapped peer (dual-stack socket) is shown as IPv4. */
static int format_peer(const struct sockaddr_storage *ss, char *buf, size_t len)
{
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        char addr[INET6_ADDRSTRLEN];
        unsigned port;

        if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
                inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], addr, sizeof(addr));
                port = ntohs(sin6->sin6_port);
        } else if (ss->ss_family == AF_INET6) {
                inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
                port = ntohs(sin6->sin6_port);
        } else if (ss->ss_family == AF_INET) {
                inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
                port = ntohs(sin->sin_port);
        } else {
                return snprintf(buf, len, "? 0\n");
        }
        return snprintf(buf, len, "%s %u\n", addr, port);
}

static int open_listener(int type, unsigned port)
{
        struct sockaddr_in6 sin6 = {
                .sin6_family = AF_INET6,
                .sin6_port = htons(port),
                .sin6_addr = IN6ADDR_ANY_INIT,
        };
        int fd, zero = 0, one = 1;

        fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0 ||
            (type == SOCK_STREAM && listen(fd, 128) < 0)) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static void conn_close(struct conn *c)
{
        close(c->fd);
        c->fd = -1;
}

static void accept_all(int lfd)
{
        for (;;) {
                struct sockaddr_storage ss;
                socklen_t sl = sizeof(ss);
                struct conn *c = NULL;
                int fd;

                fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                        return; /* EAGAIN, or a connection that died: nothing to do */
                for (int i = 0; i < MAX_CONN && !c; i++)
                        if (conns[i].fd < 0)
                                c = &conns[i];
                if (!c) {
                        close(fd); /* full: the client sees a reset, never a stall */
                        continue;
                }
                c->fd = fd;
                c->peer = ss;
                c->len = 0;
                c->deadline_ms = now_ms() + CONN_TIMEOUT_MS;
        }
}

/* Read what is there; reply and close once a line (or EOF) has arrived. */
static void conn_serve(struct conn *c)
{
        char reply[128];
        ssize_t n;
        int len;

        n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n < 0) {
                conn_close(c);
                return;
        }
        c->len += (size_t)n;
        if (n > 0 && !memchr(c->buf, '\n', c->len) && c->len < sizeof(c->buf) - 1)
                return;
        len = format_peer(&c->peer, reply, sizeof(reply));
        if (arg_log)
                printf("tcp %s", reply);
        /* A fresh socket's send buffer always holds one short line. */
        if (send(c->fd, reply, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                fprintf(stderr, "uoa-echo: send: %s\n", strerror(errno));
        conn_close(c);
}

static void udp_serve(int fd)
{
        for (;;) {
                struct sockaddr_storage ss;
                socklen_t sl = sizeof(ss);
                char buf[LINE_MAX_LEN], reply[128];
                int len;

                if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl) < 0)
                        return;
                len = format_peer(&ss, reply, sizeof(reply));
                if (arg_log)
                        printf("udp %s", reply);
                if (sendto(fd, reply, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0)
                        fprintf(stderr, "uoa-echo: sendto: %s\n", strerror(errno));
        }
}

static void expire_conns(void)
{
        long long now = now_ms();

        for (int i = 0; i < MAX_CONN; i++)
                if (conns[i].fd >= 0 && now >= conns[i].deadline_ms)
                        conn_close(&conns[i]);
}

static int serve(int tfd, int ufd)
{
        struct pollfd pfd[2 + MAX_CONN];
        int idx[MAX_CONN];

        while (!stop) {
                int n = 2;

                pfd[0] = (struct pollfd){ .fd = tfd, .events = POLLIN };
                pfd[1] = (struct pollfd){ .fd = ufd, .events = POLLIN };
                for (int i = 0; i < MAX_CONN; i++)
                        if (conns[i].fd >= 0) {
                                idx[n - 2] = i;
                                pfd[n++] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
                        }
                if (poll(pfd, (nfds_t)n, 200) < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "uoa-echo: poll: %s\n", strerror(errno));
                        return EXIT_FAILURE;
                }
                for (int i = 2; i < n; i++)
                        if (pfd[i].revents)
                                conn_serve(&conns[idx[i - 2]]);
                if (pfd[0].revents & POLLIN)
                        accept_all(tfd);
                if (pfd[1].revents & POLLIN)
                        udp_serve(ufd);
                expire_conns();
        }
        return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
        struct sigaction sa = { .sa_handler = on_signal };
        unsigned long port;
        char *end;
        int tfd, ufd;

        if (argc == 3 && strcmp(argv[1], "--log") == 0) {
                arg_log = true;
                argv++, argc--;
        }
        if (argc != 2) {
                fprintf(stderr, "usage: uoa-echo [--log] PORT\n");
                return 2;
        }
        errno = 0;
        port = strtoul(argv[1], &end, 10);
        if (errno || end == argv[1] || *end || port == 0 || port > 65535) {
                fprintf(stderr, "uoa-echo: bad port '%s'\n", argv[1]);
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        for (int i = 0; i < MAX_CONN; i++)
                conns[i].fd = -1;

        tfd = open_listener(SOCK_STREAM, (unsigned)port);
        ufd = open_listener(SOCK_DGRAM, (unsigned)port);
        if (tfd < 0 || ufd < 0) {
                fprintf(stderr, "uoa-echo: cannot listen on [::]:%lu: %s\n", port,
                        strerror(tfd < 0 ? -tfd : -ufd));
                return EXIT_FAILURE;
        }
        fprintf(stderr, "uoa-echo: ready on [::]:%lu tcp+udp\n", port);
        return serve(tfd, ufd);
}
