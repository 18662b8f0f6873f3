/* uoa-run/filter.c: build the supervised processes' seccomp filter with
 * libseccomp and load it with the flags libseccomp 2.5 cannot set
 * (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV).
 *
 * What traps and why (docs/design.md §4, §5.4, §7):
 *   bind, listen, connect, sendmsg, sendmmsg, sendto with a destination
 *       the calls where the kernel would pick or take a local address, as
 *       far as uoad says they must (`traps`: with the kernel engine, only
 *       what its programs cannot decide for the slice, policy_bpf_traps());
 *       sendto without a destination and all reads/writes never trap, nor
 *       does sendto marked by the shim as on a bound socket (below).
 *   socket(AF_INET or AF_INET6, SOCK_RAW)   uoad creates raw sockets for
 *       slices granted `raw`; socket(AF_PACKET) is EPERM for everyone.
 *   setsockopt of the interface-choosing options (SO_BINDTODEVICE, ...)
 *   capset               answered "done" by uoad, changing nothing (virtual
 *       capabilities: FRR's daemons exit if raising theirs fails).
 *   io_uring_*           EPERM: io_uring's operations bypass seccomp.
 *   other architectures, x32   kill the process (libseccomp's bad-arch
 *       action; its x86_64 filter also sends x32 numbers there), so i386
 *       socketcall() cannot go around the rules above. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/fastpath.h"
#include "policy/policy.h"
#include "uoa-run/filter.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5) /* Linux 5.19 */
#endif

/* int arguments are compared on their low 32 bits only, as the kernel uses
 * them: a caller cannot dodge a rule by setting the upper half. */
#define ARG32_EQ(n, v) SCMP_CMP64(n, SCMP_CMP_MASKED_EQ, 0xffffffffu, v)
#define SOCK_TYPE_MASK 0xf /* the type without SOCK_NONBLOCK/SOCK_CLOEXEC */

static const struct { int level, opt; } interface_opts[] = {
        { SOL_SOCKET, SO_BINDTODEVICE }, { SOL_SOCKET, SO_BINDTOIFINDEX },
        { SOL_IP, IP_UNICAST_IF },       { SOL_IPV6, IPV6_UNICAST_IF },
        { SOL_IP, IP_MULTICAST_IF },     { SOL_IPV6, IPV6_MULTICAST_IF },
};

static int filter_socket_rules(scmp_filter_ctx ctx)
{
        int r;

        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1, ARG32_EQ(0, AF_PACKET));
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socket), 2, ARG32_EQ(0, AF_INET),
                                     SCMP_CMP64(1, SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK, SOCK_RAW));
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(socket), 2, ARG32_EQ(0, AF_INET6),
                                     SCMP_CMP64(1, SCMP_CMP_MASKED_EQ, SOCK_TYPE_MASK, SOCK_RAW));
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(interface_opts); i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(setsockopt), 2,
                                     ARG32_EQ(1, interface_opts[i].level), ARG32_EQ(2, interface_opts[i].opt));
        return r;
}

/* sendto with a destination, unless its length is the shim's mark for a
 * bound socket (common/fastpath.h). Why letting a marked call through is
 * safe whoever makes it: on a socket bound to the slice's address the
 * kernel keeps that source; on any other socket the kernel picks the
 * source, at worst auto-binding the wildcard and an ephemeral port, which an
 * unmarked sendto(NULL) can do already, and the guard drops a packet whose
 * source is not the slice's (EPERM). The mark is compared on all 64 bits:
 * upper bits set trap, the safe way. MSG_FASTOPEN traps whatever the
 * length: it would make the kernel bind a TCP socket to a source and port
 * it chose. */
static int filter_sendto_rules(scmp_filter_ctx ctx)
{
        int r;

        r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendto), 2, SCMP_A4_64(SCMP_CMP_NE, 0),
                             SCMP_A5_64(SCMP_CMP_NE, UOA_SENDTO_BOUND_LEN));
        if (r == 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendto), 2, SCMP_A4_64(SCMP_CMP_NE, 0),
                                     SCMP_CMP64(3, SCMP_CMP_MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN));
        return r;
}

static int filter_rules(scmp_filter_ctx ctx, unsigned traps)
{
        static const struct { int nr; unsigned trap; } notify[] = {
                { SCMP_SYS(bind), POLICY_TRAP_BIND },       { SCMP_SYS(listen), POLICY_TRAP_LISTEN },
                { SCMP_SYS(connect), POLICY_TRAP_CONNECT }, { SCMP_SYS(sendmsg), POLICY_TRAP_SEND },
                { SCMP_SYS(sendmmsg), POLICY_TRAP_SEND },   { SCMP_SYS(capset), 0 /* always */ },
        };
        static const int refuse[] = { SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
                                      SCMP_SYS(io_uring_register) };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(notify); i++)
                if ((!notify[i].trap || (traps & notify[i].trap)) &&
                    (r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, notify[i].nr, 0)) < 0)
                        return r;
        if ((traps & POLICY_TRAP_SEND) && (r = filter_sendto_rules(ctx)) < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(refuse); i++)
                if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), refuse[i], 0)) < 0)
                        return r;
        return filter_socket_rules(ctx);
}

/* The filter as classic BPF, exported by libseccomp into a memfd. */
static int filter_export(unsigned traps, struct sock_fprog *ret)
{
        _cleanup_close_ int mfd = -1;
        scmp_filter_ctx ctx;
        struct stat st;
        void *buf;
        int r;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r == 0)
                r = filter_rules(ctx, traps);
        if (r == 0) {
                mfd = memfd_create("uoa-filter", MFD_CLOEXEC);
                r = mfd < 0 ? negative_errno() : seccomp_export_bpf(ctx, mfd);
        }
        seccomp_release(ctx);
        if (r < 0)
                return r;
        if (fstat(mfd, &st) < 0 || st.st_size == 0 || st.st_size % sizeof(struct sock_filter))
                return -EIO;
        buf = malloc((size_t) st.st_size);
        if (!buf)
                return -ENOMEM;
        if (pread(mfd, buf, (size_t) st.st_size, 0) != st.st_size) {
                free(buf);
                return -EIO;
        }
        ret->len = (unsigned short) (st.st_size / sizeof(struct sock_filter));
        ret->filter = buf;
        return 0;
}

int uoa_filter_install(unsigned traps)
{
        struct sock_fprog prog;
        int r, fd;

        r = filter_export(traps, &prog);
        if (r < 0)
                return r;
        /* WAIT_KILLABLE_RECV (5.19): once uoad has received a notification,
         * only a fatal signal interrupts the call, so signals (Go's SIGURG)
         * cannot make a supervised call restart in a loop. */
        fd = (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                           SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
        if (fd < 0 && errno == EINVAL)
                fd = (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                   SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
        r = fd < 0 ? negative_errno() : fd;
        free(prog.filter);
        return r;
}
