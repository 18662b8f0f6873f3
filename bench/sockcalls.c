/* bench/sockcalls.c: per-call cost of socket+bind+close and of a TCP
 * connect (connect/accept/close), run natively or under uoa-run; prints the
 * median, min and max of R rounds of N operations, in microseconds.
 * `bindlat ADDR N 1` times each bind alone and prints p50, p99 and max
 * (the fairness check: one slice's latency while another floods).
 * `roundtrip ADDR N R` times capset() of the caller's own (empty)
 * capabilities: under uoa-run a notification uoad answers at once, without
 * touching the target, so it is the bare round trip every trapped call pays
 * (ADDR is ignored). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

static int op_bind(const struct sockaddr_in *sa)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = *sa;

        a.sin_port = 0;
        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                perror("bind");
                return -1;
        }
        close(fd);
        return 0;
}

static int op_connect(const struct sockaddr_in *dst, int lfd)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0), c;
        struct linger lg = { 1, 0 }; /* RST on close: no TIME_WAIT pile-up */

        if (fd < 0 || connect(fd, (const struct sockaddr *) dst, sizeof(*dst)) < 0) {
                perror("connect");
                return -1;
        }
        c = accept(lfd, NULL, NULL);
        if (c < 0)
                return -1;
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
        close(c);
        return 0;
}

static int op_roundtrip(void)
{
        static struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        static struct __user_cap_data_struct d[2];
        static int got;

        if ((!got++ && syscall(SYS_capget, &h, d) < 0) || syscall(SYS_capset, &h, d) < 0) {
                perror("capset");
                return -1;
        }
        return 0;
}

static int bind_latency(const struct sockaddr_in *sa, int n)
{
        double *t = calloc((size_t) n, sizeof(*t));

        for (int i = 0; i < n; i++) {
                int fd = socket(AF_INET, SOCK_STREAM, 0);
                struct sockaddr_in a = *sa;
                double t0;

                a.sin_port = 0;
                t0 = now_us();
                if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                        perror("bind");
                        return 1;
                }
                t[i] = now_us() - t0;
                close(fd);
        }
        qsort(t, (size_t) n, sizeof(*t), cmp_double);
        printf("bindlat p50 %.0f p99 %.0f max %.0f us (%d binds)\n", t[n / 2], t[n * 99 / 100], t[n - 1], n);
        return 0;
}

int main(int argc, char **argv)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        int n, rounds, lfd = -1, rt;
        socklen_t len = sizeof(sa);
        double *t;

        if (argc != 5 || inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
                fprintf(stderr, "usage: sockcalls bind|connect|bindlat|roundtrip ADDR N ROUNDS\n"
                                "  bind: ADDR is the address to bind (0.0.0.0 under uoa-run)\n"
                                "  connect: ADDR is a local address to listen on and connect to\n");
                return 2;
        }
        n = atoi(argv[3]);
        rounds = atoi(argv[4]);
        if (strcmp(argv[1], "bindlat") == 0)
                return bind_latency(&sa, n);
        t = calloc((size_t) rounds, sizeof(*t));
        rt = strcmp(argv[1], "roundtrip") == 0;
        if (strcmp(argv[1], "connect") == 0) {
                lfd = socket(AF_INET, SOCK_STREAM, 0);
                if (bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0 ||
                    getsockname(lfd, (struct sockaddr *) &sa, &len) < 0) {
                        perror("listen");
                        return 1;
                }
        }
        for (int r = 0; r < rounds; r++) {
                double t0 = now_us();

                for (int i = 0; i < n; i++)
                        if ((lfd >= 0 ? op_connect(&sa, lfd) : rt ? op_roundtrip() : op_bind(&sa)) < 0)
                                return 1;
                t[r] = (now_us() - t0) / n;
        }
        qsort(t, (size_t) rounds, sizeof(*t), cmp_double);
        printf("%s median %.2f us min %.2f max %.2f (%d rounds of %d)\n", argv[1], t[rounds / 2], t[0],
               t[rounds - 1], rounds, n);
        return 0;
}
