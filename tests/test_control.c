/* tests/test_control.c: the control protocol as uoad/control.c serves it:
 * requests written into one end of a socketpair whose other end uoad
 * adopted as a connection (control_conn_adopt), the events fed to
 * control_event(), the reply read back. The kernel-facing steps a policy
 * change takes (guard, shaping, the listener's epoll) are stubs here that
 * record what they were asked, so the suite runs without root; only the
 * peer-credential tests need root (to be another user). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/strbuf.h"
#include "common/wire.h"
#include "uoad/control.h"
#include "uoad/engine_bpf.h"
#include "uoad/guard.h"
#include "uoad/notify.h"
#include "uoad/relay.h"
#include "uoad/shape.h"
#include "uoad/stats.h"
#include "uoad/uoad.h"

/* ---- stubs for what control.c calls outside itself --------------------- */
static int guard_calls, guard_fail; /* guard_fail: the next apply fails with it */
static const policy *guard_last;

int guard_apply(uoad *d, const policy *old, const policy *p, char *err, size_t errlen)
{
        (void) d;
        (void) old;
        guard_calls++;
        guard_last = p;
        if (guard_fail) {
                int r = guard_fail;

                guard_fail = 0;
                snprintf(err, errlen, "nft: the guard refused it");
                return r;
        }
        return 0;
}

int shape_apply(const policy *p, char *err, size_t errlen)
{
        (void) p;
        (void) err;
        (void) errlen;
        return 0;
}

int shape_remove(void)
{
        return 0;
}

void shape_stats_format(const policy *p, struct strbuf *b, const uid_t *only_uid)
{
        (void) p;
        (void) only_uid;
        strbuf_printf(b, "1000 egress 1 2 3 4\n");
}

void stats_format(uoad *d, struct strbuf *b, const uid_t *only_uid)
{
        (void) d;
        (void) only_uid;
        strbuf_printf(b, "1000 bind 7 1\n");
}

bool engine_bpf_decides(const engine_bpf *e)
{
        return e != NULL;
}

const char *engine_bpf_pin_dir(const engine_bpf *e)
{
        (void) e;
        return "/sys/fs/bpf/uoa-test";
}

int engine_bpf_apply(engine_bpf *e, const policy *old, const policy *p)
{
        (void) e;
        (void) old;
        (void) p;
        return 0;
}

/* The served policy's previous value is the stub's to free (notify.c frees
 * it once no worker holds it). */
static policy *swapped;

void notify_policy_swap(uoad *d, policy *p)
{
        (void) d;
        policy_free(swapped);
        swapped = p;
}

static int listener_adds;

int notify_listener_add(uoad *d, int fd, uid_t uid, pid_t pid)
{
        (void) d;
        (void) fd;
        (void) uid;
        (void) pid;
        listener_adds++;
        return 0;
}

int relay_client_add(uoad *d, int ctl_fd, uid_t uid)
{
        (void) d;
        (void) ctl_fd;
        (void) uid;
        return -EIO; /* no relay here: the client gets an error and the connection */
}

uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* ---- the fixture -------------------------------------------------------- */
static uoad d;
static char config[] = "/tmp/test_control.XXXXXX";

static const char initial[] = "1000 address 10.9.0.1\n"
                              "1000 table 32800\n"
                              "1001 address 10.9.0.10 ports 10000-10999\n";

static void write_config(const char *text)
{
        FILE *f = fopen(config, "w");

        cr_assert(f);
        cr_assert_eq(fputs(text, f) >= 0, true);
        cr_assert_eq(fclose(f), 0);
}

static void setup(void)
{
        char err[512] = "";
        int fd = mkstemp(config);

        cr_assert_geq(fd, 0);
        close(fd);
        write_config(initial);
        d = (uoad) UOAD_INIT;
        d.config_path = config;
        d.socket_path = "/nonexistent/uoad.sock";
        d.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        cr_assert_geq(d.epoll_fd, 0);
        cr_assert_eq(uoad_policy_load(&d, err, sizeof(err)), 0, "%s", err);
        guard_calls = 0;
}

static void teardown(void)
{
        control_close(&d);
        policy_free(swapped);
        swapped = NULL;
        d.policy = NULL;
        close(d.epoll_fd);
        unlink(config);
}

TestSuite(control, .init = setup, .fini = teardown);

/* Feed uoad the events of every adopted connection until the client's end
 * sees the connection closed; returns everything it read (all messages). */
static char *drain(int client)
{
        strbuf b = {};

        for (int round = 0; round < 1000; round++) {
                struct epoll_event ev[8];
                int n = epoll_wait(d.epoll_fd, ev, 8, 10);
                char buf[WIRE_CHUNK];
                ssize_t got;

                for (int i = 0; i < n; i++)
                        control_event(&d, ev[i].data.ptr, ev[i].events, now_ms());
                while ((got = recv(client, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
                        buf[got] = '\0';
                        strbuf_printf(&b, "%s", buf);
                }
                if (got == 0)
                        return strbuf_done(&b);
        }
        free(strbuf_done(&b));
        cr_assert_fail("uoad never closed the connection");
        return NULL;
}

/* A connection whose peer is this process (SO_PEERCRED of a socketpair:
 * its creator), adopted by uoad as accept() would have handed it over. */
static int connect_pair(void)
{
        int sv[2];

        cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
        control_conn_adopt(&d, sv[0], now_ms());
        return sv[1];
}

static char *request_len(int client, const char *req, size_t len)
{
        char *reply;

        cr_assert_eq(send(client, req, len, 0), (ssize_t) len);
        reply = drain(client);
        close(client);
        return reply;
}

static char *request(const char *req)
{
        return request_len(connect_pair(), req, strlen(req));
}

/* The status line of a reply: "ok" or "error ERRNO MSG". */
static void expect_error(const char *reply, int negerrno, const char *msg_part)
{
        char want[32];

        snprintf(want, sizeof(want), "error %d ", -negerrno);
        cr_assert_eq(strncmp(reply, want, strlen(want)), 0, "reply '%s', want '%s...'", reply, want);
        cr_assert(strstr(reply, msg_part), "reply '%s' does not say '%s'", reply, msg_part);
}

static void expect_ok(const char *reply)
{
        cr_assert_eq(strncmp(reply, "ok\n", 3), 0, "reply '%s'", reply);
}

Test(control, show_answers_the_policy_then_counters_then_shaping)
{
        _cleanup_free_ char *r = request("show");
        const char *calls, *shape;

        expect_ok(r);
        cr_assert(strstr(r, "1000 address 10.9.0.1\n"), "%s", r);
        cr_assert(strstr(r, "1001 address 10.9.0.10 ports 10000-10999\n"), "%s", r);
        calls = strstr(r, STATS_MARKER "1000 bind 7 1\n");
        shape = strstr(r, SHAPE_MARKER "1000 egress 1 2 3 4\n");
        cr_assert(calls && shape && calls < shape, "%s", r);
        cr_assert_lt(strstr(r, "1001 address"), calls);
}

Test(control, show_of_one_uid_has_only_its_lines)
{
        _cleanup_free_ char *r = request("show 1001");

        expect_ok(r);
        cr_assert(strstr(r, "1001 address 10.9.0.10 ports 10000-10999\n"), "%s", r);
        cr_assert_null(strstr(r, "10.9.0.1\n"), "%s", r);
}

Test(control, status_names_the_engine_sessions_and_slices)
{
        _cleanup_free_ char *r = request("status");

        cr_assert_str_eq(r, "ok\nengine seccomp\nsessions 0\nslices 2\nwildcard primary\n");
}

Test(control, traps_of_a_slice_are_all_calls_under_the_seccomp_engine)
{
        _cleanup_free_ char *r = request("traps 1000");
        _cleanup_free_ char *none = request("traps 4242");
        char want[64];

        snprintf(want, sizeof(want), "ok\ntraps %u\n", POLICY_TRAPS_ALL);
        cr_assert_str_eq(r, want);
        expect_error(none, -ENOENT, "has no slice");
}

Test(control, add_serves_the_new_line_through_the_guard)
{
        _cleanup_free_ char *r = request("add\n1002 address 10.9.0.2\n");
        _cleanup_free_ char *shown = NULL;

        cr_assert_str_eq(r, "ok\n");
        cr_assert_eq(guard_calls, 1);
        cr_assert_eq(guard_last, d.policy, "the guard was applied to what is now served");
        cr_assert_eq(policy_slice_count(d.policy), 3);
        shown = request("show 1002");
        cr_assert(strstr(shown, "1002 address 10.9.0.2\n"), "%s", shown);
}

Test(control, del_removes_exactly_that_line)
{
        _cleanup_free_ char *r = request("del\n1001 address 10.9.0.10 ports 10000-10999\n");
        _cleanup_free_ char *missing = NULL, *shown = NULL;

        cr_assert_str_eq(r, "ok\n");
        shown = request("show");
        cr_assert_null(strstr(shown, "10.9.0.10"), "%s", shown);
        cr_assert(strstr(shown, "1000 address 10.9.0.1\n"), "%s", shown);
        missing = request("del\n1001 address 10.9.0.10 ports 10000-10999\n");
        expect_error(missing, -ENOENT, "");
}

Test(control, add_of_a_conflicting_line_changes_nothing)
{
        const policy *before = d.policy;
        _cleanup_free_ char *r = request("add\n1002 address 10.9.0.1\n"); /* 1000's dedicated address */

        cr_assert_eq(strncmp(r, "error ", 6), 0, "%s", r);
        cr_assert(strstr(r, "uoamap"), "the error names where: %s", r);
        cr_assert_eq(d.policy, before);
        cr_assert_eq(guard_calls, 0, "nothing reached the kernel");
}

Test(control, add_the_guard_refuses_keeps_the_served_policy)
{
        const policy *before = d.policy;
        _cleanup_free_ char *r = NULL, *shown = NULL;

        guard_fail = -EINVAL;
        r = request("add\n1002 address 10.9.0.2\n");
        expect_error(r, -EINVAL, "the guard refused it");
        cr_assert_eq(d.policy, before);
        cr_assert_eq(guard_calls, 2, "the new guard, then the served policy's put back");
        cr_assert_eq(guard_last, before);
        shown = request("show");
        cr_assert_null(strstr(shown, "1002"), "%s", shown);
}

Test(control, reload_reads_the_file_again)
{
        _cleanup_free_ char *r = NULL;

        write_config("1000 address 10.9.0.1\n1003 address 10.9.0.3\n");
        r = request("reload");
        cr_assert_str_eq(r, "ok\n");
        cr_assert_eq(policy_slice_count(d.policy), 2);
        cr_assert_not_null(policy_slice_find(d.policy, 1003));
        cr_assert_null(policy_slice_find(d.policy, 1001));
}

Test(control, reload_of_a_bad_file_reports_the_line_and_changes_nothing)
{
        const policy *before = d.policy;
        _cleanup_free_ char *r = NULL;
        char where[128];

        write_config("1000 address 10.9.0.1\n1003 adress 10.9.0.3\n");
        r = request("reload");
        snprintf(where, sizeof(where), "%s:2", config);
        cr_assert_eq(strncmp(r, "error ", 6), 0, "%s", r);
        cr_assert(strstr(r, where), "the error names file and line: %s", r);
        cr_assert_eq(d.policy, before);
}

Test(control, unknown_command_is_refused)
{
        _cleanup_free_ char *r = request("frobnicate 1000");

        expect_error(r, -EINVAL, "malformed request");
        cr_assert_eq(guard_calls, 0);
}

Test(control, malformed_requests_are_refused)
{
        static const char *const bad[] = {
                "show x", "show 1000 1001", "traps", "register 1000", "add", "add\n", "status now",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                _cleanup_free_ char *r = request(bad[i]);

                expect_error(r, -EINVAL, "malformed request");
        }
        {
                _cleanup_free_ char *r = request_len(connect_pair(), "show\0", 5);

                expect_error(r, -EINVAL, "malformed request");
        }
}

Test(control, over_long_request_is_refused_unread)
{
        size_t len = WIRE_REQUEST_MAX + 1;
        _cleanup_free_ char *req = malloc(len);
        _cleanup_free_ char *r = NULL;
        int client = connect_pair(), size = 4 * (int) len;

        cr_assert(req);
        memcpy(req, "add\n", 4);
        memset(req + 4, 'x', len - 4);
        cr_assert_eq(setsockopt(client, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)), 0);
        r = request_len(client, req, len);
        expect_error(r, -E2BIG, "request too long");
        cr_assert_eq(guard_calls, 0);
}

Test(control, register_of_root_or_a_stranger_or_no_listener_is_refused)
{
        _cleanup_free_ char *root = NULL, *stranger = NULL, *plain = NULL;
        char req[64];

        if (geteuid() != 0)
                cr_skip_test("register needs a peer with effective uid 0 (run as root)");
        root = request("register 0 0");
        expect_error(root, -EPERM, "root is never supervised");
        stranger = request("register 4242 0");
        expect_error(stranger, -ENOENT, "has no slice");
        /* Our epoll fd is no seccomp listener: uoad takes it, looks, refuses. */
        snprintf(req, sizeof(req), "register 1000 %d", d.epoll_fd);
        plain = request(req);
        expect_error(plain, -EBADF, "not a seccomp listener");
        cr_assert_eq(listener_adds, 0);
}

Test(control, netlink_without_a_relay_is_answered_with_an_error)
{
        _cleanup_free_ char *r = request("netlink");

        expect_error(r, -EIO, "netlink proxy unavailable");
}

/* A connection whose peer is uid (a child that becomes uid creates the
 * pair, so SO_PEERCRED names uid, and hands it back). */
static int connect_pair_as(uid_t uid)
{
        int chan[2], sv[2] = { -1, -1 }, status;
        char cbuf[CMSG_SPACE(2 * sizeof(int))] = {}, x = 0;
        struct iovec iov = { &x, 1 };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
        pid_t pid;

        cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, chan), 0);
        pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                struct cmsghdr *c = CMSG_FIRSTHDR(&m);

                if (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0 ||
                    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                        _exit(1);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(2 * sizeof(int));
                memcpy(CMSG_DATA(c), sv, sizeof(sv));
                _exit(sendmsg(chan[1], &m, 0) == 1 ? 0 : 1);
        }
        cr_assert_eq(recvmsg(chan[0], &m, 0), 1);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert_eq(status, 0);
        memcpy(sv, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(sv));
        close(chan[0]);
        close(chan[1]);
        control_conn_adopt(&d, sv[0], now_ms());
        return sv[1];
}

Test(control, a_user_may_show_but_not_change_the_policy_or_register)
{
        const char *change[] = { "add\n1002 address 10.9.0.2\n", "del\n1000 address 10.9.0.1\n", "reload" };
        const policy *before = d.policy;

        if (geteuid() != 0)
                cr_skip_test("being another user needs root");
        {
                _cleanup_free_ char *r = request_len(connect_pair_as(1000), "show", 4);

                expect_ok(r);
                cr_assert(strstr(r, "1000 address 10.9.0.1\n"), "%s", r);
        }
        for (size_t i = 0; i < sizeof(change) / sizeof(change[0]); i++) {
                _cleanup_free_ char *r = request_len(connect_pair_as(1000), change[i], strlen(change[i]));

                expect_error(r, -EPERM, "root-only");
        }
        {
                _cleanup_free_ char *r = request_len(connect_pair_as(1000), "register 1000 0", 15);

                expect_error(r, -EPERM, "only uoa-run");
        }
        cr_assert_eq(d.policy, before);
        cr_assert_eq(guard_calls, 0);
}

Test(control, a_connection_that_never_asks_is_closed_by_the_sweep)
{
        int client = connect_pair();
        char c;

        control_sweep(&d, now_ms()); /* not due yet */
        cr_assert_eq(recv(client, &c, 1, MSG_DONTWAIT), -1);
        cr_assert_eq(errno, EAGAIN);
        control_sweep(&d, now_ms() + 5000);
        cr_assert_eq(recv(client, &c, 1, MSG_DONTWAIT), 0, "uoad closed it");
        close(client);
}
