/* bpf/uoa.bpf.c: the kernel engine. cgroup sock_addr programs, attached to
 * the cgroup2 root, that apply docs/design.md §4's address rules to every process of
 * a slice uid in one network namespace (uoad's), supervised or not, at the
 * cost of two hash lookups. They decide from the maps only; what the maps
 * hold is a pure function of the policy (policy/policy_bpf.c).
 *
 * Verdicts: 1 allows, 0 refuses with the errno set by bpf_set_retval()
 * (5.18; EPERM without it); a bind program may return 3 to allow and skip
 * the CAP_NET_BIND_SERVICE check (5.16), which is how a slice gets port 179
 * on its own address without privilege. Every program runs for every socket
 * of the host: anything not a slice's in our namespace is allowed untouched. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <stdbool.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpf/uoa_bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define EPERM 1
#define EACCES 13
#define EADDRINUSE 98
#define EADDRNOTAVAIL 99

#define ALLOW 1
#define ALLOW_PRIVILEGED 3 /* bind hooks only: no CAP_NET_BIND_SERVICE check */
#define PORT_TRIES 8       /* random ports tried in a shared range by bpf_bind() */

/* The namespace uoad serves (SO_NETNS_COOKIE of a socket of its own). Several
 * uoads, one per node namespace, each attach their own programs. */
const volatile __u64 netns_cookie = 0;

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __uint(max_entries, UOA_BPF_SLICES_MAX);
        __type(key, __u32);
        __type(value, struct uoa_bpf_slice);
} uoa_slices SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __uint(max_entries, UOA_BPF_ADDR_KEYS_MAX);
        __type(key, struct uoa_bpf_addr_key);
        __type(value, struct uoa_bpf_range);
} uoa_addrs SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_RINGBUF);
        __uint(max_entries, UOA_BPF_EVENTS_BYTES);
} uoa_events SEC(".maps");

/* Refuse the call with err, and tell uoad who asked for what: addr (NULL:
 * none worth naming) has 1 word for AF_INET, 4 for AF_INET6. Best effort: a
 * full ring drops the record, never the decision. */
static __always_inline int refuse(struct bpf_sock_addr *ctx, __u16 hook, int family, const __u32 *addr,
                                  int err)
{
        struct uoa_bpf_event *ev;

        bpf_set_retval(-err);
        ev = bpf_ringbuf_reserve(&uoa_events, sizeof(*ev), 0);
        if (!ev)
                return 0;
        __builtin_memset(ev, 0, sizeof(*ev));
        ev->uid = (__u32) bpf_get_current_uid_gid();
        ev->pid = (__u32) (bpf_get_current_pid_tgid() >> 32);
        ev->hook = hook;
        ev->err = (__u16) err;
        ev->port = bpf_ntohs((__u16) ctx->user_port);
        if (addr) {
                ev->family = (__u16) family;
                ev->addr[0] = addr[0];
                if (family == AF_INET6) {
                        ev->addr[1] = addr[1];
                        ev->addr[2] = addr[2];
                        ev->addr[3] = addr[3];
                }
        }
        bpf_get_current_comm(ev->comm, sizeof(ev->comm));
        bpf_ringbuf_submit(ev, 0);
        return 0;
}

/* The calling process's slice, or NULL: another namespace, or a uid without
 * a slice (root, uoad itself acting for a slice, users without one). The
 * real uid is the slice's identity, as for the seccomp engine's uoa-run. */
static __always_inline const struct uoa_bpf_slice *slice_of(void *ctx, __u32 *ret_uid)
{
        __u32 uid;

        if (bpf_get_netns_cookie(ctx) != netns_cookie)
                return NULL;
        uid = (__u32) bpf_get_current_uid_gid();
        *ret_uid = uid;
        return bpf_map_lookup_elem(&uoa_slices, &uid);
}

static __always_inline bool is_loopback4(__u32 a)
{
        return (bpf_ntohl(a) >> 24) == 127;
}

static __always_inline bool is_any6(const __u32 *a)
{
        return (a[0] | a[1] | a[2] | a[3]) == 0;
}

static __always_inline bool is_loopback6(const __u32 *a)
{
        return (a[0] | a[1] | a[2]) == 0 && a[3] == bpf_htonl(1);
}

static __always_inline bool is_v4mapped(const __u32 *a)
{
        return (a[0] | a[1]) == 0 && a[2] == bpf_htonl(0xffff);
}

static __always_inline const struct uoa_bpf_range *addr_range(__u32 uid, __u32 family, const __u32 *a)
{
        struct uoa_bpf_addr_key k = { .uid = uid, .family = family };

        k.addr[0] = a[0];
        if (family == AF_INET6) {
                k.addr[1] = a[1];
                k.addr[2] = a[2];
                k.addr[3] = a[3];
        }
        return bpf_map_lookup_elem(&uoa_addrs, &k);
}

struct {
        __uint(type, BPF_MAP_TYPE_LPM_TRIE);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __uint(max_entries, UOA_BPF_SRC_KEYS_MAX);
        __type(key, struct uoa_bpf_src4_key);
        __type(value, __u32);
} uoa_src4 SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_LPM_TRIE);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __uint(max_entries, UOA_BPF_SRC_KEYS_MAX);
        __type(key, struct uoa_bpf_src6_key);
        __type(value, __u32);
} uoa_src6 SEC(".maps");

/* Source selection: the index of the slice's address that fits dst best
 * (one trie lookup, uoa_bpf.h), NO_ADDR if it has no address of the family.
 * Indexes are masked where used so the verifier sees them in bounds. */
#define NO_ADDR UOA_BPF_ADDRS_MAX
#define IDX(i) ((i) & (UOA_BPF_ADDRS_MAX - 1))
_Static_assert((UOA_BPF_ADDRS_MAX & (UOA_BPF_ADDRS_MAX - 1)) == 0, "a power of two");

static __always_inline __u32 best4(const struct uoa_bpf_slice *s, __u32 uid, __u32 dst)
{
        struct uoa_bpf_src4_key k = { .prefixlen = 64, .uid = bpf_htonl(uid), .addr = dst };
        __u32 *i;

        if (s->n4 <= 1)
                return s->n4 ? 0 : NO_ADDR; /* no choice: no trie entries either */
        i = bpf_map_lookup_elem(&uoa_src4, &k);
        return i && *i < s->n4 ? *i : 0;
}

static __always_inline __u32 best6(const struct uoa_bpf_slice *s, __u32 uid, const __u32 *dst)
{
        struct uoa_bpf_src6_key k = { .prefixlen = 160, .uid = bpf_htonl(uid) };
        __u32 *i;

        if (s->n6 <= 1)
                return s->n6 ? 0 : NO_ADDR;
        k.addr[0] = dst[0];
        k.addr[1] = dst[1];
        k.addr[2] = dst[2];
        k.addr[3] = dst[3];
        i = bpf_map_lookup_elem(&uoa_src6, &k);
        return i && *i < s->n6 ? *i : 0;
}

static __always_inline __u16 range_pick(__u16 lo, __u16 hi)
{
        return lo + (__u16) (bpf_get_prandom_u32() % ((__u32) hi - lo + 1));
}

/* The §4 port rules on a bind: every port on a dedicated address (lo == 0);
 * on a shared one 0 -> a port of the range, in range -> kept, 0 < p <= size-1
 * -> lo + p (port mapping), else EACCES. For port 0 the program cannot know
 * which ports are free: it draws one, and a taken one fails EADDRINUSE
 * (uoad walks the range for supervised processes, which trap bind). */
static __always_inline int bind_port(struct bpf_sock_addr *ctx, __u16 lo, __u16 hi)
{
        __u32 port = bpf_ntohs((__u16) ctx->user_port);

        if (lo == 0)
                return ALLOW_PRIVILEGED;
        if (port == 0)
                port = range_pick(lo, hi);
        else if (port < lo || port > hi) {
                if (port > (__u32) hi - lo)
                        return refuse(ctx, UOA_BPF_HOOK_BIND, 0, NULL, EACCES); /* outside the slice's range, not a mapped offset */
                port += lo;
        }
        ctx->user_port = bpf_htons((__u16) port);
        return ALLOW_PRIVILEGED;
}

/* An IPv4 bind request (or the IPv4 inside a v4-mapped one): loopback as on
 * an ordinary host; the wildcard becomes the primary address (*ret_addr
 * rewritten); else the address must be the slice's. */
static __always_inline int bind_v4(struct bpf_sock_addr *ctx, const struct uoa_bpf_slice *s, __u32 uid,
                                   __u32 *addr, bool *ret_rewrite)
{
        const struct uoa_bpf_range *r;
        __u32 a = *addr;

        if (is_loopback4(a))
                return ALLOW; /* the kernel's own privileged-port rule applies */
        if (a == 0) {
                if (s->n4 == 0)
                        return refuse(ctx, UOA_BPF_HOOK_BIND, AF_INET, &a, EADDRNOTAVAIL); /* no IPv4 address to give the wildcard */
                *addr = s->a4[0].addr;
                *ret_rewrite = true;
                return bind_port(ctx, s->a4[0].lo, s->a4[0].hi);
        }
        r = addr_range(uid, AF_INET, &a);
        if (!r)
                return refuse(ctx, UOA_BPF_HOOK_BIND, AF_INET, &a, EADDRNOTAVAIL); /* another slice's, the host's, or nobody's */
        return bind_port(ctx, r->lo, r->hi);
}

SEC("cgroup/bind4")
int uoa_bind4(struct bpf_sock_addr *ctx)
{
        const struct uoa_bpf_slice *s;
        bool rewrite = false;
        __u32 uid = 0, a;
        int v;

        s = slice_of(ctx, &uid);
        if (!s)
                return ALLOW;
        a = ctx->user_ip4;
        v = bind_v4(ctx, s, uid, &a, &rewrite);
        if (rewrite)
                ctx->user_ip4 = a;
        return v;
}

SEC("cgroup/bind6")
int uoa_bind6(struct bpf_sock_addr *ctx)
{
        const struct uoa_bpf_range *r;
        const struct uoa_bpf_slice *s;
        bool rewrite = false;
        __u32 uid = 0, a[4];
        int v;

        s = slice_of(ctx, &uid);
        if (!s)
                return ALLOW;
        a[0] = ctx->user_ip6[0];
        a[1] = ctx->user_ip6[1];
        a[2] = ctx->user_ip6[2];
        a[3] = ctx->user_ip6[3];
        if (is_v4mapped(a)) {
                v = bind_v4(ctx, s, uid, &a[3], &rewrite);
                if (rewrite)
                        ctx->user_ip6[3] = a[3];
                return v;
        }
        if (is_loopback6(a))
                return ALLOW;
        if (is_any6(a)) {
                if (s->n6 > 0) {
                        ctx->user_ip6[0] = s->a6[0].addr[0];
                        ctx->user_ip6[1] = s->a6[0].addr[1];
                        ctx->user_ip6[2] = s->a6[0].addr[2];
                        ctx->user_ip6[3] = s->a6[0].addr[3];
                        return bind_port(ctx, s->a6[0].lo, s->a6[0].hi);
                }
                /* Dual-stack without an IPv6 address: the primary IPv4,
                 * v4-mapped (a v6only socket refuses that with EINVAL). */
                if (s->n4 == 0)
                        return refuse(ctx, UOA_BPF_HOOK_BIND, AF_INET6, a, EADDRNOTAVAIL); /* no address at all */
                ctx->user_ip6[2] = bpf_htonl(0xffff);
                ctx->user_ip6[3] = s->a4[0].addr;
                return bind_port(ctx, s->a4[0].lo, s->a4[0].hi);
        }
        r = addr_range(uid, AF_INET6, a);
        if (!r)
                return refuse(ctx, UOA_BPF_HOOK_BIND, AF_INET6, a, EADDRNOTAVAIL); /* not the slice's address */
        return bind_port(ctx, r->lo, r->hi);
}

/* Bind an unbound socket to the slice's source before the kernel picks one.
 * bpf_bind() with port 0 binds the address only (IP_BIND_ADDRESS_NO_PORT),
 * so the connect picks a port for a unique 4-tuple; on a shared address it
 * must be a port of the range: draw a few. */
static __always_inline int source_bind(struct bpf_sock_addr *ctx, struct sockaddr *sa, __u16 *port, int len,
                                       __u16 lo, __u16 hi)
{
        long r = -EADDRINUSE;

        if (lo == 0) {
                r = bpf_bind(ctx, sa, len);
                return r ? refuse(ctx, UOA_BPF_HOOK_CONNECT, 0, NULL, (int) -r) : ALLOW;
        }
        for (int i = 0; i < PORT_TRIES && r == -EADDRINUSE; i++) {
                *port = bpf_htons(range_pick(lo, hi));
                r = bpf_bind(ctx, sa, len);
        }
        return r ? refuse(ctx, UOA_BPF_HOOK_CONNECT, 0, NULL, (int) -r) : ALLOW; /* EADDRINUSE: the range is (nearly) full */
}

static __always_inline bool sk_addr_bound(const struct bpf_sock *sk)
{
        return sk->src_ip4 || sk->src_ip6[0] || sk->src_ip6[1] || sk->src_ip6[2] || sk->src_ip6[3];
}

/* Bound to an address or a port: bpf_bind() would fail, the bind hooks
 * decided it (or uoad did, for a supervised process). */
static __always_inline bool sk_bound(const struct bpf_sock_addr *ctx)
{
        struct bpf_sock *sk = ctx->sk;

        return !sk || sk->src_port || sk_addr_bound(sk);
}

/* For sendmsg: inet_sendmsg() has auto-bound an unbound socket to the
 * wildcard and an ephemeral port before the hook runs, so only a bound
 * address counts; a wildcard socket gets its source per datagram. *ret_port
 * is the bound port, for the shared-range check. */
static __always_inline bool sk_src_fixed(const struct bpf_sock_addr *ctx, __u32 *ret_port)
{
        struct bpf_sock *sk = ctx->sk;

        if (!sk)
                return true;
        *ret_port = sk->src_port;
        return sk_addr_bound(sk);
}

SEC("cgroup/connect4")
int uoa_connect4(struct bpf_sock_addr *ctx)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        const struct uoa_bpf_slice *s;
        __u32 uid = 0, i, dst = ctx->user_ip4;

        s = slice_of(ctx, &uid);
        if (!s || sk_bound(ctx) || is_loopback4(dst))
                return ALLOW; /* bound by a decided bind, or loopback: the kernel's choice */
        i = best4(s, uid, dst);
        if (i >= NO_ADDR)
                return refuse(ctx, UOA_BPF_HOOK_CONNECT, AF_INET, &dst, EADDRNOTAVAIL); /* no IPv4 address */
        sa.sin_addr.s_addr = s->a4[IDX(i)].addr;
        return source_bind(ctx, (struct sockaddr *) &sa, &sa.sin_port, sizeof(sa), s->a4[IDX(i)].lo, s->a4[IDX(i)].hi);
}

SEC("cgroup/connect6")
int uoa_connect6(struct bpf_sock_addr *ctx)
{
        struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
        const struct uoa_bpf_slice *s;
        __u32 uid = 0, d[4], i;

        s = slice_of(ctx, &uid);
        if (!s || sk_bound(ctx))
                return ALLOW;
        d[0] = ctx->user_ip6[0];
        d[1] = ctx->user_ip6[1];
        d[2] = ctx->user_ip6[2];
        d[3] = ctx->user_ip6[3];
        if (is_loopback6(d))
                return ALLOW;
        if (is_v4mapped(d)) {
                /* A dual-stack socket connecting to IPv4: a v4-mapped source. */
                if (is_loopback4(d[3]))
                        return ALLOW;
                i = best4(s, uid, d[3]);
                if (i >= NO_ADDR)
                        return refuse(ctx, UOA_BPF_HOOK_CONNECT, AF_INET6, d, EADDRNOTAVAIL);
                sa.sin6_addr.in6_u.u6_addr32[2] = bpf_htonl(0xffff);
                sa.sin6_addr.in6_u.u6_addr32[3] = s->a4[IDX(i)].addr;
                return source_bind(ctx, (struct sockaddr *) &sa, &sa.sin6_port, sizeof(sa), s->a4[IDX(i)].lo,
                                   s->a4[IDX(i)].hi);
        }
        i = best6(s, uid, d);
        if (i >= NO_ADDR)
                return refuse(ctx, UOA_BPF_HOOK_CONNECT, AF_INET6, d, EADDRNOTAVAIL); /* no IPv6 address */
        __builtin_memcpy(&sa.sin6_addr, s->a6[IDX(i)].addr, 16);
        return source_bind(ctx, (struct sockaddr *) &sa, &sa.sin6_port, sizeof(sa), s->a6[IDX(i)].lo, s->a6[IDX(i)].hi);
}

/* Unconnected UDP with a destination. A source named by IP_PKTINFO arrives
 * as msg_src: it must be the slice's or loopback. A socket without a bound
 * address gets the slice's source for this datagram; on a shared address
 * that is not enough (the kernel auto-bound a port outside the range), so
 * such a socket there is refused: bind first (supervised processes trap the
 * call and uoad binds for them). */
SEC("cgroup/sendmsg4")
int uoa_sendmsg4(struct bpf_sock_addr *ctx)
{
        const struct uoa_bpf_slice *s;
        __u32 uid = 0, src, i, port = 0, dst = ctx->user_ip4;

        s = slice_of(ctx, &uid);
        if (!s)
                return ALLOW;
        src = ctx->msg_src_ip4;
        if (src) {
                if (is_loopback4(src) || addr_range(uid, AF_INET, &src))
                        return ALLOW;
                return refuse(ctx, UOA_BPF_HOOK_SENDMSG, AF_INET, &src, EPERM); /* IP_PKTINFO with a source not the slice's */
        }
        if (sk_src_fixed(ctx, &port) || is_loopback4(dst))
                return ALLOW;
        i = best4(s, uid, dst);
        if (i >= NO_ADDR)
                return refuse(ctx, UOA_BPF_HOOK_SENDMSG, AF_INET, &dst, EADDRNOTAVAIL); /* no IPv4 address */
        if (s->a4[IDX(i)].lo && (port < s->a4[IDX(i)].lo || port > s->a4[IDX(i)].hi))
                return refuse(ctx, UOA_BPF_HOOK_SENDMSG, AF_INET, &dst, EADDRNOTAVAIL); /* shared address, auto-bound port outside the range: bind first */
        ctx->msg_src_ip4 = s->a4[IDX(i)].addr;
        return ALLOW;
}

SEC("cgroup/sendmsg6")
int uoa_sendmsg6(struct bpf_sock_addr *ctx)
{
        const struct uoa_bpf_slice *s;
        __u32 uid = 0, src[4], d[4], i, port = 0;

        s = slice_of(ctx, &uid);
        if (!s)
                return ALLOW;
        src[0] = ctx->msg_src_ip6[0];
        src[1] = ctx->msg_src_ip6[1];
        src[2] = ctx->msg_src_ip6[2];
        src[3] = ctx->msg_src_ip6[3];
        if (!is_any6(src)) {
                if (is_loopback6(src) || addr_range(uid, AF_INET6, src))
                        return ALLOW;
                return refuse(ctx, UOA_BPF_HOOK_SENDMSG, AF_INET6, src, EPERM); /* IPV6_PKTINFO with a source not the slice's */
        }
        d[0] = ctx->user_ip6[0];
        d[1] = ctx->user_ip6[1];
        d[2] = ctx->user_ip6[2];
        d[3] = ctx->user_ip6[3];
        /* v4-mapped destinations go through udp_sendmsg and sendmsg4. */
        if (sk_src_fixed(ctx, &port) || is_loopback6(d) || is_v4mapped(d))
                return ALLOW;
        i = best6(s, uid, d);
        if (i >= NO_ADDR)
                return refuse(ctx, UOA_BPF_HOOK_SENDMSG, AF_INET6, d, EADDRNOTAVAIL);
        if (s->a6[IDX(i)].lo && (port < s->a6[IDX(i)].lo || port > s->a6[IDX(i)].hi))
                return refuse(ctx, UOA_BPF_HOOK_SENDMSG, AF_INET6, d, EADDRNOTAVAIL); /* shared address, port outside the range: bind first */
        ctx->msg_src_ip6[0] = s->a6[IDX(i)].addr[0];
        ctx->msg_src_ip6[1] = s->a6[IDX(i)].addr[1];
        ctx->msg_src_ip6[2] = s->a6[IDX(i)].addr[2];
        ctx->msg_src_ip6[3] = s->a6[IDX(i)].addr[3];
        return ALLOW;
}

char LICENSE[] SEC("license") = "GPL";
