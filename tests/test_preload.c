/* tests/test_preload.c: libuoa-preload's rtnetlink emulation, without root
 * and without uoad: a fake uoad in a thread speaks the "netlink" channel
 * (common/wire.h), and build/tests/uoa-nlclient runs with the shim preloaded
 * and checks, from the client's side, what netlink clients check. Here we
 * check what reached the fake uoad, and that only the interposed symbols
 * are exported. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/wire.h"

#define FAKE_PORTID 4242
#define FAKE_CONNS 8
#define RECORDS_MAX 64
#define TEST_TIMEOUT_S 30 /* a client blocked forever is a failure, not a hang */

typedef enum fake_mode {
        FAKE_SERVE,      /* answer like uoad */
        FAKE_REFUSE,     /* answer "error ..." (a user without a slice) */
        FAKE_HANG_UP,    /* hand over the data socket, then close everything */
        FAKE_VIEW_LO,    /* serve, and answer link/address dumps with loopback only */
        FAKE_VIEW_NO_LO, /* ... with every link of the host but loopback */
} fake_mode;

typedef struct record {
        char type;
        uint32_t a, b; /* S: option, value; G: groups; R: nlmsg_seq, length */
} record;

typedef struct fake {
        fake_mode mode;
        char dir[64], path[128];
        int listen_fd, stop[2];
        pthread_t thread;
        pthread_mutex_t lock;
        record rec[RECORDS_MAX];
        int nrec, nreq, handshakes, closed;
        struct {
                int ctl, data;
        } conn[FAKE_CONNS];
} fake;

static void fake_record(fake *f, char type, uint32_t a, uint32_t b)
{
        pthread_mutex_lock(&f->lock);
        if (f->nrec < RECORDS_MAX)
                f->rec[f->nrec++] = (record) { type, a, b };
        pthread_mutex_unlock(&f->lock);
}

/* "ok 4242\n" and one end of a non-blocking socketpair, as uoad sends it. */
static void fake_handshake(fake *f, int ctl)
{
        char req[32], cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
        const char *text = f->mode == FAKE_REFUSE ? "error 2 has no slice in the policy\n" : "ok 4242\n";
        struct iovec iov = { (void *) text, strlen(text) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        int pair[2] = { -1, -1 };
        ssize_t n = recv(ctl, req, sizeof(req), 0);

        cr_assert(n == 7 && memcmp(req, "netlink", 7) == 0, "the shim asks for \"netlink\"");
        if (f->mode != FAKE_REFUSE) {
                cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair), 0);
                mh.msg_control = cbuf;
                mh.msg_controllen = sizeof(cbuf);
                CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
                CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
                CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &pair[1], sizeof(int));
        }
        cr_assert(sendmsg(ctl, &mh, MSG_NOSIGNAL) > 0);
        close(pair[1]);
        pthread_mutex_lock(&f->lock);
        f->handshakes++;
        pthread_mutex_unlock(&f->lock);
        if (f->mode == FAKE_REFUSE || f->mode == FAKE_HANG_UP) {
                close(pair[0]);
                close(ctl);
                return;
        }
        for (int i = 0; i < FAKE_CONNS; i++)
                if (f->conn[i].ctl < 0) {
                        f->conn[i].ctl = ctl;
                        f->conn[i].data = pair[0];
                        return;
                }
        cr_assert_fail("too many connections");
}

/* One message of a dump answer: header, family header, one attribute. */
static void fake_dump_msg(int data, const struct nlmsghdr *req, uint16_t type, const void *hdr, size_t hdrlen,
                          uint16_t attr, const void *val, size_t vallen)
{
        char buf[256] __attribute__((aligned(4))) = { 0 };
        struct nlmsghdr *nh = (struct nlmsghdr *) buf;
        struct rtattr *a = (struct rtattr *) (buf + NLMSG_LENGTH(NLMSG_ALIGN(hdrlen)));

        *nh = (struct nlmsghdr) { .nlmsg_type = type, .nlmsg_flags = NLM_F_MULTI, .nlmsg_seq = req->nlmsg_seq,
                                  .nlmsg_pid = FAKE_PORTID };
        memcpy(NLMSG_DATA(nh), hdr, hdrlen);
        if (vallen) {
                a->rta_type = attr;
                a->rta_len = (unsigned short) RTA_LENGTH(vallen);
                memcpy(RTA_DATA(a), val, vallen);
        }
        nh->nlmsg_len = NLMSG_LENGTH(NLMSG_ALIGN(hdrlen)) + (vallen ? RTA_ALIGN(a->rta_len) : 0);
        cr_assert_eq(send(data, buf, nh->nlmsg_len, MSG_NOSIGNAL), (ssize_t) nh->nlmsg_len);
}

static bool fake_view_has(const fake *f, const char *name)
{
        return (strcmp(name, "lo") == 0) == (f->mode == FAKE_VIEW_LO);
}

/* A view as uoad's proxy would give it, from the host's real links and
 * addresses (this process is not preloaded: glibc's answers are the
 * kernel's). */
static void fake_view_dump(fake *f, int data, const struct nlmsghdr *req)
{
        struct if_nameindex *links = if_nameindex();
        struct ifaddrs *addrs = NULL;
        int done = 0;

        cr_assert_not_null(links);
        if (req->nlmsg_type == RTM_GETLINK) {
                for (struct if_nameindex *l = links; l->if_index; l++) {
                        struct ifinfomsg ifi = { .ifi_index = (int) l->if_index };

                        if (fake_view_has(f, l->if_name))
                                fake_dump_msg(data, req, RTM_NEWLINK, &ifi, sizeof(ifi), IFLA_IFNAME, l->if_name,
                                              strlen(l->if_name) + 1);
                }
        } else {
                cr_assert_eq(getifaddrs(&addrs), 0);
                for (struct ifaddrs *a = addrs; a; a = a->ifa_next) {
                        int fam = a->ifa_addr ? a->ifa_addr->sa_family : AF_UNSPEC;
                        struct ifaddrmsg ifa = { .ifa_family = (unsigned char) fam,
                                                 .ifa_index = if_nametoindex(a->ifa_name) };

                        if (!fake_view_has(f, a->ifa_name) || (fam != AF_INET && fam != AF_INET6))
                                continue;
                        if (fam == AF_INET)
                                fake_dump_msg(data, req, RTM_NEWADDR, &ifa, sizeof(ifa), IFA_LOCAL,
                                              &((struct sockaddr_in *) a->ifa_addr)->sin_addr, 4);
                        else
                                fake_dump_msg(data, req, RTM_NEWADDR, &ifa, sizeof(ifa), IFA_ADDRESS,
                                              &((struct sockaddr_in6 *) a->ifa_addr)->sin6_addr, 16);
                }
                freeifaddrs(addrs);
        }
        if_freenameindex(links);
        fake_dump_msg(data, req, NLMSG_DONE, &done, sizeof(done), 0, NULL, 0);
}

/* An ack for the request, queued on the data socket before the answer. */
static void fake_request(fake *f, int data, const char *buf, size_t len)
{
        struct {
                struct nlmsghdr nh;
                struct nlmsgerr err;
        } ack = { 0 };
        struct nlmsghdr req = { 0 };

        memcpy(&req, buf, len < sizeof(req) ? len : sizeof(req));
        fake_record(f, 'R', req.nlmsg_seq, (uint32_t) len);
        pthread_mutex_lock(&f->lock);
        f->nreq++;
        pthread_mutex_unlock(&f->lock);
        if ((f->mode == FAKE_VIEW_LO || f->mode == FAKE_VIEW_NO_LO) && (req.nlmsg_flags & NLM_F_DUMP) &&
            (req.nlmsg_type == RTM_GETLINK || req.nlmsg_type == RTM_GETADDR))
                return fake_view_dump(f, data, &req);
        if (!(req.nlmsg_flags & NLM_F_ACK))
                return;
        ack.nh = (struct nlmsghdr) { .nlmsg_len = sizeof(ack), .nlmsg_type = NLMSG_ERROR,
                                     .nlmsg_flags = NLM_F_CAPPED, .nlmsg_seq = req.nlmsg_seq,
                                     .nlmsg_pid = FAKE_PORTID };
        ack.err.msg = req;
        cr_assert_eq(send(data, &ack, sizeof(ack), MSG_NOSIGNAL), (ssize_t) sizeof(ack));
}

static void fake_control(fake *f, int i)
{
        char buf[WIRE_REQUEST_MAX + 16];
        ssize_t n = recv(f->conn[i].ctl, buf, sizeof(buf), 0);
        int32_t answer = -EINVAL;
        uint32_t a = 0, b = 0;

        if (n <= 0) {
                close(f->conn[i].ctl);
                close(f->conn[i].data);
                f->conn[i].ctl = f->conn[i].data = -1;
                pthread_mutex_lock(&f->lock);
                f->closed++;
                pthread_mutex_unlock(&f->lock);
                return;
        }
        if (buf[0] == WIRE_NL_REQUEST) {
                fake_request(f, f->conn[i].data, buf + 1, (size_t) n - 1);
                answer = (int32_t) (n - 1);
        } else if ((buf[0] == WIRE_NL_SOCKOPT && n == 9) || (buf[0] == WIRE_NL_GROUPS && n == 5)) {
                memcpy(&a, buf + 1, 4);
                if (n == 9)
                        memcpy(&b, buf + 5, 4);
                fake_record(f, buf[0], a, b);
                answer = 0;
        } else
                fake_record(f, '?', (uint32_t) buf[0], (uint32_t) n);
        cr_assert_eq(send(f->conn[i].ctl, &answer, sizeof(answer), MSG_NOSIGNAL), (ssize_t) sizeof(answer));
}

static void *fake_main(void *arg)
{
        fake *f = arg;

        for (;;) {
                struct pollfd p[FAKE_CONNS + 2] = { { f->stop[0], POLLIN, 0 }, { f->listen_fd, POLLIN, 0 } };

                for (int i = 0; i < FAKE_CONNS; i++)
                        p[i + 2] = (struct pollfd) { f->conn[i].ctl, POLLIN, 0 };
                if (poll(p, FAKE_CONNS + 2, -1) < 0)
                        continue;
                for (int i = 0; i < FAKE_CONNS; i++)
                        if (p[i + 2].revents)
                                fake_control(f, i);
                if (p[1].revents)
                        fake_handshake(f, accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC));
                if (p[0].revents)
                        return NULL;
        }
}

static void fake_start(fake *f, fake_mode mode)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        memset(f, 0, sizeof(*f));
        f->mode = mode;
        for (int i = 0; i < FAKE_CONNS; i++)
                f->conn[i].ctl = f->conn[i].data = -1;
        pthread_mutex_init(&f->lock, NULL);
        strcpy(f->dir, "/tmp/uoa-test-preload-XXXXXX");
        cr_assert_not_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/uoad.sock", f->dir);
        strcpy(sa.sun_path, f->path);
        f->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        cr_assert_geq(f->listen_fd, 0);
        cr_assert_eq(bind(f->listen_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        cr_assert_eq(listen(f->listen_fd, 8), 0);
        cr_assert_eq(pipe2(f->stop, O_CLOEXEC), 0);
        cr_assert_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

/* Stop once the client's last messages (its close) were seen. */
static void fake_stop(fake *f, int expect_closed)
{
        for (int i = 0; i < 200; i++) {
                pthread_mutex_lock(&f->lock);
                bool done = f->closed >= expect_closed;
                pthread_mutex_unlock(&f->lock);
                if (done)
                        break;
                usleep(10000);
        }
        cr_assert_eq(write(f->stop[1], "x", 1), 1);
        pthread_join(f->thread, NULL);
        unlink(f->path);
        rmdir(f->dir);
}

static bool fake_saw(fake *f, char type, uint32_t a, uint32_t b)
{
        for (int i = 0; i < f->nrec; i++)
                if (f->rec[i].type == type && f->rec[i].a == a && f->rec[i].b == b)
                        return true;
        return false;
}

/* build/tests/test_preload -> build/libuoa-preload.so, build/tests/uoa-nlclient */
static void build_path(char *buf, size_t len, const char *rel)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        cr_assert_gt(n, 0);
        exe[n] = '\0';
        snprintf(buf, len, "%s/%s", dirname(exe), rel);
}

/* Run the client scenario with the shim; its output in out, its status returned. */
static int client_run(const char *scenario, const char *socket_path, bool debug, char *out, size_t outlen)
{
        char client[PATH_MAX], lib[PATH_MAX + 16], sock[PATH_MAX + 16];
        int p[2], status;
        size_t got = 0;
        ssize_t n;
        pid_t pid;

        build_path(client, sizeof(client), "uoa-nlclient");
        build_path(lib, sizeof(lib), "../libuoa-preload.so");
        memmove(lib + strlen("LD_PRELOAD="), lib, strlen(lib) + 1);
        memcpy(lib, "LD_PRELOAD=", strlen("LD_PRELOAD="));
        snprintf(sock, sizeof(sock), "UOA_SOCKET=%s", socket_path);
        cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                char *argv[] = { client, (char *) scenario, NULL };
                char *envp[] = { lib, sock, debug ? "UOA_DEBUG=1" : "UOA_DEBUG=0", NULL };

                dup2(p[1], STDOUT_FILENO);
                dup2(p[1], STDERR_FILENO);
                execve(client, argv, envp);
                _exit(127);
        }
        close(p[1]);
        while (got + 1 < outlen && (n = read(p[0], out + got, outlen - got - 1)) > 0)
                got += (size_t) n;
        out[got] = '\0';
        close(p[0]);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define CLIENT_OK(scenario, path, debug)                                                   \
        do {                                                                               \
                char out_[8192];                                                           \
                int st_ = client_run(scenario, path, debug, out_, sizeof(out_));           \
                cr_assert_eq(st_, 0, "uoa-nlclient %s exited %d:\n%s", scenario, st_, out_); \
        } while (0)

Test(preload, netlink_socket_behaves_like_the_kernels_through_uoad, .timeout = TEST_TIMEOUT_S)
{
        fake f;

        fake_start(&f, FAKE_SERVE);
        CLIENT_OK("proxied", f.path, false);
        fake_stop(&f, 1);
        cr_assert_eq(f.handshakes, 1);
        cr_assert(fake_saw(&f, 'S', NETLINK_EXT_ACK, 1), "NETLINK_EXT_ACK reached uoad");
        cr_assert(fake_saw(&f, 'S', NETLINK_GET_STRICT_CHK, 1), "NETLINK_GET_STRICT_CHK reached uoad");
        cr_assert(fake_saw(&f, 'S', NETLINK_CAP_ACK, 1), "NETLINK_CAP_ACK reached uoad");
        cr_assert(fake_saw(&f, 'S', NETLINK_ADD_MEMBERSHIP, RTNLGRP_IPV6_ROUTE), "ADD_MEMBERSHIP reached uoad");
        cr_assert(fake_saw(&f, 'G', RTMGRP_IPV4_ROUTE, 0), "bind's nl_groups reached uoad");
        cr_assert(!fake_saw(&f, 'S', NETLINK_PKTINFO, 1), "PKTINFO stays in the process");
        /* The iovecs arrive as one datagram; a refused sendto never leaves. */
        cr_assert(fake_saw(&f, 'R', 77, NLMSG_LENGTH(sizeof(struct ifinfomsg))), "the sendmsg request, flattened");
        cr_assert(fake_saw(&f, 'R', 78, NLMSG_LENGTH(sizeof(struct ifinfomsg))), "the send request");
        cr_assert(fake_saw(&f, 'R', 91, NLMSG_LENGTH(sizeof(struct ifinfomsg))), "sendmmsg's second request");
        cr_assert(fake_saw(&f, 'R', 79, 8192), "a request larger than the shim's stack buffer, whole");
        cr_assert(!fake_saw(&f, 'R', 80, 65537), "a request too large for uoad never leaves");
        for (int i = 0; i < f.nrec; i++)
                cr_assert_neq(f.rec[i].type, '?', "malformed control message %#x of %u bytes", f.rec[i].a,
                              f.rec[i].b);
        cr_assert_eq(f.closed, 1, "close() closed the control connection");
}

Test(preload, socket_flags_apply_to_the_returned_fd, .timeout = TEST_TIMEOUT_S)
{
        fake f;

        fake_start(&f, FAKE_SERVE);
        CLIENT_OK("flags", f.path, false);
        fake_stop(&f, 1);
        cr_assert_eq(f.handshakes, 1, "the socket was not proxied");
}

Test(preload, concurrent_threads_get_their_own_answers, .timeout = TEST_TIMEOUT_S)
{
        fake f;

        fake_start(&f, FAKE_SERVE);
        CLIENT_OK("threads", f.path, false);
        fake_stop(&f, 1);
        cr_assert_eq(f.nreq, 400, "%d requests reached uoad, not 2 x 200", f.nreq);
}

Test(preload, a_socket_closed_behind_the_shims_back_is_forgotten, .timeout = TEST_TIMEOUT_S)
{
        fake f;

        fake_start(&f, FAKE_SERVE);
        CLIENT_OK("stale", f.path, false);
        fake_stop(&f, 1);
        cr_assert_eq(f.handshakes, 1, "the socket was not proxied");
}

Test(preload, other_sockets_are_untouched, .timeout = TEST_TIMEOUT_S)
{
        fake f;

        fake_start(&f, FAKE_SERVE);
        CLIENT_OK("passthrough", f.path, false);
        fake_stop(&f, 0);
        cr_assert_eq(f.handshakes, 0, "no other socket asked uoad for anything");
}

Test(preload, without_uoad_socket_falls_back_to_the_kernel, .timeout = TEST_TIMEOUT_S)
{
        char out[8192];
        int st = client_run("fallback", "/nonexistent/uoad.sock", false, out, sizeof(out));

        cr_assert_eq(st, 0, "uoa-nlclient fallback exited %d:\n%s", st, out);
        cr_assert_null(strstr(out, "uoa:"), "the shim wrote to stderr without UOA_DEBUG:\n%s", out);
}

Test(preload, uoad_refusal_falls_back_and_is_explained_only_under_debug, .timeout = TEST_TIMEOUT_S)
{
        char out[8192];
        fake f;
        int st;

        fake_start(&f, FAKE_REFUSE);
        st = client_run("fallback", f.path, true, out, sizeof(out));
        cr_assert_eq(st, 0, "uoa-nlclient fallback exited %d:\n%s", st, out);
        cr_assert_not_null(strstr(out, "uoa: netlink: uoad at"), "no explanation under UOA_DEBUG:\n%s", out);
        cr_assert_not_null(strstr(out, "has no slice"), "uoad's message is not shown:\n%s", out);
        st = client_run("fallback", f.path, false, out, sizeof(out));
        cr_assert_eq(st, 0, "uoa-nlclient fallback exited %d:\n%s", st, out);
        cr_assert_null(strstr(out, "uoa:"), "the shim wrote to stderr without UOA_DEBUG:\n%s", out);
        fake_stop(&f, 0);
        cr_assert_eq(f.handshakes, 2);
}

Test(preload, uoad_going_away_is_an_error_never_end_of_file, .timeout = TEST_TIMEOUT_S)
{
        fake f;

        fake_start(&f, FAKE_HANG_UP);
        CLIENT_OK("eof", f.path, false);
        fake_stop(&f, 0);
        cr_assert_eq(f.handshakes, 1, "the socket was not proxied");
}

/* The client's "ifview" lines that start with what. */
static bool client_says(const char *out, const char *line)
{
        size_t n = strlen(line);

        for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
                        return true;
        return false;
}

/* The "ifview" scenario against a fake uoad whose view is mode's: every
 * line of says is in its output, no text of absent is. */
static void ifview_check(fake_mode mode, const char *const *says, const char *const *absent, char *out,
                         size_t len)
{
        fake f;

        fake_start(&f, mode);
        cr_assert_eq(client_run("ifview", f.path, false, out, len), 0, "%s", out);
        fake_stop(&f, 0);
        for (; *says; says++)
                cr_assert(client_says(out, *says), "no line '%s' in:\n%s", *says, out);
        for (; *absent; absent++)
                cr_assert_null(strstr(out, *absent), "'%s' shown in:\n%s", *absent, out);
}

Test(preload, libc_interface_calls_show_the_proxys_view, .timeout = TEST_TIMEOUT_S)
{
        static const char *const says[] = { "ifa lo inet 127.0.0.1", "ifa lo packet", "index lo",
                                            "nametoindex lo ok", "only-lo: yes", NULL };
        static const char *const absent[] = { NULL };
        char out[8192];

        ifview_check(FAKE_VIEW_LO, says, absent, out, sizeof(out));
}

/* lo is glibc's first entry, the head of its one allocation: hidden, the
 * list must still be freeable (a bad free aborts the client). */
Test(preload, a_hidden_head_of_getifaddrs_leaves_a_list_that_frees, .timeout = TEST_TIMEOUT_S)
{
        static const char *const says[] = { "nametoindex lo hidden", "indextoname 1 hidden", "freed", NULL };
        static const char *const absent[] = { "ifa lo ", "index lo\n", NULL };
        char out[8192];

        ifview_check(FAKE_VIEW_NO_LO, says, absent, out, sizeof(out));
        if (if_nametoindex("lo") != 1 || !if_indextoname(2, (char[IF_NAMESIZE]){ 0 }))
                return; /* no link but loopback here: nothing else to show */
        cr_assert_not_null(strstr(out, "ifa "), "the host's other links vanished with loopback:\n%s", out);
}

Test(preload, exports_only_the_interposed_symbols, .timeout = TEST_TIMEOUT_S)
{
        static const char *const expected[] = {
                "__recv_chk",     "__recvfrom_chk", "bind",           "close",       "connect",
                "getifaddrs",     "getpeername",    "getsockname",    "getsockopt",  "if_indextoname",
                "if_nameindex",   "if_nametoindex", "recv",           "recvfrom",    "recvmmsg",
                "recvmsg",        "send",           "sendmmsg",       "sendmsg",     "sendto",
                "setsockopt",     "socket",
        };
        char lib[PATH_MAX], cmd[PATH_MAX + 64], line[256], sym[128];
        size_t n = 0;
        FILE *p;

        if (system("command -v nm >/dev/null 2>&1") != 0)
                cr_skip_test("nm (binutils) is not installed");
        build_path(lib, sizeof(lib), "../libuoa-preload.so");
        snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'", lib);
        p = popen(cmd, "r");
        cr_assert_not_null(p);
        while (fgets(line, sizeof(line), p)) {
                bool known = false;

                if (sscanf(line, "%*s %*s %127s", sym) != 1)
                        continue;
                for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
                        known |= strcmp(sym, expected[i]) == 0;
                cr_expect(known, "%s is exported", sym);
                n++;
        }
        cr_assert_eq(pclose(p), 0);
        cr_assert_eq(n, sizeof(expected) / sizeof(expected[0]), "%zu symbols exported", n);
}
