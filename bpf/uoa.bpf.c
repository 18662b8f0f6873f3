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
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpf/uoa_bpf.h"

/* The kernel's own types, what the programs read of them (CO-RE: offsets
 * relocated against the running kernel's BTF at load). */
struct sock_common {
        unsigned short skc_family;
        __u16 skc_num;
        unsigned char skc_ipv6only : 1;
} __attribute__((preserve_access_index));

struct sock {
        struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct inet_sock {
        struct sock sk;
} __attribute__((preserve_access_index));

struct udp_sock {
        struct inet_sock inet;
} __attribute__((preserve_access_index));

struct inet_connection_sock {
        struct inet_sock icsk_inet;
} __attribute__((preserve_access_index));

struct tcp_sock {
        struct inet_connection_sock inet_conn;
} __attribute__((preserve_access_index));

struct tcp6_sock {
        struct tcp_sock tcp;
} __attribute__((preserve_access_index));

struct bpf_iter_meta;
struct bpf_iter__udp {
        struct bpf_iter_meta *meta;
        struct udp_sock *udp_sk;
} __attribute__((preserve_access_index));

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
/* false with uoad --engine seccomp: uoad decides the address rules, the
 * programs only steer the wildcard (bind4/6 then allow everything). */
const volatile bool enforce = true;

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

struct {
        __uint(type, BPF_MAP_TYPE_SK_STORAGE);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __type(key, int);
        __type(value, struct uoa_bpf_sk);
} uoa_sk SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_SOCKHASH);
        __uint(max_entries, UOA_BPF_WILD_MAX);
        __type(key, struct uoa_bpf_wild_key);
        __type(value, __u64);
} uoa_wild SEC(".maps");

struct {
        __uint(type, BPF_MAP_TYPE_HASH);
        __uint(map_flags, BPF_F_NO_PREALLOC);
        __uint(max_entries, UOA_BPF_OWNER_KEYS_MAX);
        __type(key, struct uoa_bpf_owner_key);
        __type(value, __u32);
} uoa_owner SEC(".maps");

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

/* IPV6_V6ONLY of the TCP socket being bound (struct bpf_sock has no such
 * field; bpf_skc_to_tcp6_sock, 5.9, gives the kernel's own). */
static __always_inline bool tcp_v6only(struct bpf_sock_addr *ctx)
{
        struct tcp6_sock *tp;

        if (!ctx->sk)
                return true;
        tp = bpf_skc_to_tcp6_sock(ctx->sk);
        if (!tp)
                return true;
        return BPF_CORE_READ_BITFIELD(&tp->tcp.inet_conn.icsk_inet.sk.__sk_common, skc_ipv6only);
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

/* A wildcard request: remember whose it is, so that sock_ops (TCP, at
 * listen) or uoad's iterator (UDP) enter it in uoa_wild. */
static __always_inline void wild_mark(struct bpf_sock_addr *ctx, __u32 uid, const __u32 *name6)
{
        struct uoa_bpf_sk *st;

        if (!ctx->sk)
                return;
        st = bpf_sk_storage_get(&uoa_sk, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
        if (!st)
                return;
        st->uid = uid;
        st->flags |= UOA_BPF_SK_WILD;
        if (name6) {
                st->flags |= UOA_BPF_SK_DUAL;
                __builtin_memcpy(st->name6, name6, 16);
        }
}

/* A bind of a named address: a mark left by an earlier wildcard request
 * that failed (EADDRINUSE) must not make this one a wildcard. */
static __always_inline void wild_unmark(struct bpf_sock_addr *ctx)
{
        struct uoa_bpf_sk *st;

        if (ctx->sk && (st = bpf_sk_storage_get(&uoa_sk, ctx->sk, 0, 0)))
                st->flags &= ~(UOA_BPF_SK_WILD | UOA_BPF_SK_DUAL);
}

/* An IPv4 bind request (or the IPv4 inside a v4-mapped one): loopback as on
 * an ordinary host; the wildcard becomes the primary address (*ret_addr
 * rewritten); else the address must be the slice's. */
static __always_inline int bind_v4(struct bpf_sock_addr *ctx, const struct uoa_bpf_slice *s, __u32 uid,
                                   __u32 *addr, bool *ret_rewrite)
{
        const struct uoa_bpf_range *r;
        __u32 a = *addr;

        if (a != 0)
                wild_unmark(ctx);
        if (is_loopback4(a))
                return ALLOW; /* the kernel's own privileged-port rule applies */
        if (a == 0) {
                if (s->n4 == 0)
                        return refuse(ctx, UOA_BPF_HOOK_BIND, AF_INET, &a, EADDRNOTAVAIL); /* no IPv4 address to give the wildcard */
                *addr = s->a4[0].addr;
                *ret_rewrite = true;
                wild_mark(ctx, uid, NULL);
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

        if (!enforce)
                return ALLOW;
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

        if (!enforce)
                return ALLOW;
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
        wild_unmark(ctx); /* marked again below for the wildcard */
        if (is_loopback6(a))
                return ALLOW;
        if (is_any6(a)) {
                /* TCP only: a UDP socket bound to a v4-mapped address
                 * cannot answer IPv6, so UDP `::` keeps the primary IPv6. */
                if (s->n6 > 0 && (s->n4 == 0 || ctx->protocol != IPPROTO_TCP || tcp_v6only(ctx))) {
                        wild_mark(ctx, uid, NULL);
                        ctx->user_ip6[0] = s->a6[0].addr[0];
                        ctx->user_ip6[1] = s->a6[0].addr[1];
                        ctx->user_ip6[2] = s->a6[0].addr[2];
                        ctx->user_ip6[3] = s->a6[0].addr[3];
                        return bind_port(ctx, s->a6[0].lo, s->a6[0].hi);
                }
                /* Dual-stack TCP: the primary IPv4, v4-mapped, which serves
                 * both families once steered (UOA_BPF_SK_DUAL; a v6only
                 * socket without an IPv6 address gets EINVAL from the kernel). */
                if (s->n4 == 0)
                        return refuse(ctx, UOA_BPF_HOOK_BIND, AF_INET6, a, EADDRNOTAVAIL); /* no address at all */
                wild_mark(ctx, uid, s->n6 > 0 ? s->a6[0].addr : NULL);
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

/* Loopback to the slice's own wildcard port: a slice's wildcard socket is
 * bound to its primary address, so a process of the slice that asks for
 * 127.0.0.1:p (or ::1) is sent there instead, as a wildcard socket on an
 * ordinary host would answer it; the socket remembers the loopback address
 * so that getpeername and recvfrom report it back (Cilium's socket load
 * balancer does the same). Only the slice's own processes: others reach
 * the host's loopback as before. Returns whether dst was rewritten. */
static __always_inline bool wild_exists(struct bpf_sock_addr *ctx, __u32 uid, __u16 family)
{
        struct uoa_bpf_wild_key k = {
                .uid = uid, .family = family, .proto = (__u16) ctx->protocol, .port = bpf_ntohs((__u16) ctx->user_port)
        };
        struct bpf_sock *sk = bpf_map_lookup_elem(&uoa_wild, &k);

        if (!sk)
                return false;
        bpf_sk_release(sk);
        return true;
}

static __always_inline void loop_remember(struct bpf_sock_addr *ctx, __u32 uid, const __u32 *from, const __u32 *to)
{
        struct uoa_bpf_sk *st;

        if (!ctx->sk)
                return;
        st = bpf_sk_storage_get(&uoa_sk, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
        if (!st)
                return; /* no memory: getpeername reports the slice's address */
        st->uid = uid;
        st->flags |= UOA_BPF_SK_LOOP;
        __builtin_memcpy(st->loop_addr, from, 16);
        __builtin_memcpy(st->slice_addr, to, 16);
        st->loop_port = ctx->user_port;
}

static __always_inline bool loop_redirect4(struct bpf_sock_addr *ctx, const struct uoa_bpf_slice *s, __u32 uid,
                                           __u32 *dst)
{
        __u32 from[4] = { *dst }, to[4] = { s->a4[0].addr };

        if (s->n4 == 0 || !wild_exists(ctx, uid, AF_INET))
                return false;
        loop_remember(ctx, uid, from, to);
        *dst = ctx->user_ip4 = s->a4[0].addr;
        return true;
}

static __always_inline bool loop_redirect6(struct bpf_sock_addr *ctx, const struct uoa_bpf_slice *s, __u32 uid,
                                           __u32 *d)
{
        __u32 to[4] = {};

        if (is_v4mapped(d)) {
                if (s->n4 == 0 || !wild_exists(ctx, uid, AF_INET))
                        return false;
                to[2] = bpf_htonl(0xffff);
                to[3] = s->a4[0].addr;
        } else {
                if (s->n6 == 0 || !wild_exists(ctx, uid, AF_INET6))
                        return false;
                __builtin_memcpy(to, s->a6[0].addr, 16);
        }
        loop_remember(ctx, uid, d, to);
        ctx->user_ip6[0] = d[0] = to[0];
        ctx->user_ip6[1] = d[1] = to[1];
        ctx->user_ip6[2] = d[2] = to[2];
        ctx->user_ip6[3] = d[3] = to[3];
        return true;
}

SEC("cgroup/connect4")
int uoa_connect4(struct bpf_sock_addr *ctx)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        const struct uoa_bpf_slice *s;
        __u32 uid = 0, i, dst = ctx->user_ip4;

        s = slice_of(ctx, &uid);
        if (!s || (is_loopback4(dst) && !loop_redirect4(ctx, s, uid, &dst)))
                return ALLOW; /* loopback: the kernel's choice */
        if (!enforce || sk_bound(ctx))
                return ALLOW; /* bound by a decided bind */
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
        if (!s)
                return ALLOW;
        d[0] = ctx->user_ip6[0];
        d[1] = ctx->user_ip6[1];
        d[2] = ctx->user_ip6[2];
        d[3] = ctx->user_ip6[3];
        if ((is_loopback6(d) || (is_v4mapped(d) && is_loopback4(d[3]))) && !loop_redirect6(ctx, s, uid, d))
                return ALLOW;
        if (!enforce || sk_bound(ctx))
                return ALLOW;
        if (is_v4mapped(d)) {
                /* A dual-stack socket connecting to IPv4: a v4-mapped source. */
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
        if (is_loopback4(dst))
                loop_redirect4(ctx, s, uid, &dst);
        if (!enforce)
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
        d[0] = ctx->user_ip6[0];
        d[1] = ctx->user_ip6[1];
        d[2] = ctx->user_ip6[2];
        d[3] = ctx->user_ip6[3];
        if (is_loopback6(d))
                loop_redirect6(ctx, s, uid, d); /* v4-mapped destinations: sendmsg4 */
        if (!enforce)
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

/* What getpeername and recvfrom report on a socket loop_redirect*() sent to
 * its slice's address: the loopback address it asked for. */
static __always_inline const struct uoa_bpf_sk *loop_of(struct bpf_sock_addr *ctx)
{
        const struct uoa_bpf_sk *st;

        if (!ctx->sk)
                return NULL;
        st = bpf_sk_storage_get(&uoa_sk, ctx->sk, 0, 0);
        return st && (st->flags & UOA_BPF_SK_LOOP) && st->loop_port == ctx->user_port ? st : NULL;
}

static __always_inline int loop_restore4(struct bpf_sock_addr *ctx)
{
        const struct uoa_bpf_sk *st = loop_of(ctx);

        if (st && ctx->user_ip4 == st->slice_addr[0])
                ctx->user_ip4 = st->loop_addr[0];
        return 1;
}

static __always_inline int loop_restore6(struct bpf_sock_addr *ctx)
{
        const struct uoa_bpf_sk *st = loop_of(ctx);

        if (st && ctx->user_ip6[0] == st->slice_addr[0] && ctx->user_ip6[1] == st->slice_addr[1] &&
            ctx->user_ip6[2] == st->slice_addr[2] && ctx->user_ip6[3] == st->slice_addr[3]) {
                ctx->user_ip6[0] = st->loop_addr[0];
                ctx->user_ip6[1] = st->loop_addr[1];
                ctx->user_ip6[2] = st->loop_addr[2];
                ctx->user_ip6[3] = st->loop_addr[3];
        }
        return 1;
}

SEC("cgroup/getpeername4")
int uoa_getpeername4(struct bpf_sock_addr *ctx)
{
        return loop_restore4(ctx);
}

SEC("cgroup/getpeername6")
int uoa_getpeername6(struct bpf_sock_addr *ctx)
{
        return loop_restore6(ctx);
}

/* A dual-stack wildcard names the slice's primary IPv6 address, as the
 * contract has it (§4), though it is bound to the v4-mapped primary IPv4. */
SEC("cgroup/getsockname6")
int uoa_getsockname6(struct bpf_sock_addr *ctx)
{
        const struct uoa_bpf_sk *st;

        if (!ctx->sk)
                return 1;
        st = bpf_sk_storage_get(&uoa_sk, ctx->sk, 0, 0);
        if (st && (st->flags & UOA_BPF_SK_DUAL) && ctx->user_ip6[0] == 0 && ctx->user_ip6[1] == 0 &&
            ctx->user_ip6[2] == bpf_htonl(0xffff)) {
                ctx->user_ip6[0] = st->name6[0];
                ctx->user_ip6[1] = st->name6[1];
                ctx->user_ip6[2] = st->name6[2];
                ctx->user_ip6[3] = st->name6[3];
        }
        return 1;
}

SEC("cgroup/recvmsg4")
int uoa_recvmsg4(struct bpf_sock_addr *ctx)
{
        return loop_restore4(ctx);
}

SEC("cgroup/recvmsg6")
int uoa_recvmsg6(struct bpf_sock_addr *ctx)
{
        return loop_restore6(ctx);
}

/* A TCP wildcard socket enters uoa_wild when it listens (a bound socket
 * that never listens serves nothing). The IPv4 entry of a dual-stack
 * socket never displaces a socket of IPv4's own. */
static __always_inline void wild_enter_tcp(struct bpf_sock_ops *ctx)
{
        struct uoa_bpf_wild_key k = { .proto = IPPROTO_TCP };
        const struct uoa_bpf_sk *st;
        struct bpf_sock *sk = ctx->sk;

        if (!sk)
                return;
        st = bpf_sk_storage_get(&uoa_sk, sk, 0, 0);
        if (!st || !(st->flags & UOA_BPF_SK_WILD))
                return;
        k.uid = st->uid;
        k.family = (__u16) ctx->family;
        k.port = ctx->local_port;
        (void) bpf_sock_hash_update(ctx, &uoa_wild, &k, BPF_ANY);
        if (k.family == AF_INET6) {
                k.family = AF_INET;
                (void) bpf_sock_hash_update(ctx, &uoa_wild, &k, BPF_NOEXIST);
        }
}

SEC("sockops")
int uoa_sockops(struct bpf_sock_ops *ctx)
{
        if (ctx->op == BPF_SOCK_OPS_TCP_LISTEN_CB && bpf_get_netns_cookie(ctx) == netns_cookie)
                wild_enter_tcp(ctx);
        return 1;
}

/* A UDP wildcard socket is bound: tell uoad, which enters it with the
 * iterator below (only an iterator may put a UDP socket in a SOCKHASH). */
static __always_inline int wild_bound(struct bpf_sock *sk)
{
        const struct uoa_bpf_sk *st;
        struct uoa_bpf_event *ev;

        if (sk->protocol != IPPROTO_UDP || bpf_get_netns_cookie(sk) != netns_cookie)
                return 1;
        st = bpf_sk_storage_get(&uoa_sk, sk, 0, 0);
        if (!st || !(st->flags & UOA_BPF_SK_WILD))
                return 1;
        ev = bpf_ringbuf_reserve(&uoa_events, sizeof(*ev), 0);
        if (!ev)
                return 1; /* uoad's next refresh enters it */
        __builtin_memset(ev, 0, sizeof(*ev));
        ev->uid = st->uid;
        ev->hook = UOA_BPF_HOOK_WILD_UDP;
        ev->port = (__u16) sk->src_port;
        bpf_ringbuf_submit(ev, 0);
        return 1;
}

SEC("cgroup/post_bind4")
int uoa_post_bind4(struct bpf_sock *sk)
{
        return wild_bound(sk);
}

SEC("cgroup/post_bind6")
int uoa_post_bind6(struct bpf_sock *sk)
{
        return wild_bound(sk);
}

/* Every UDP socket of uoad's namespace: enter the bound wildcard ones. */
SEC("iter/udp")
int uoa_wild_udp(struct bpf_iter__udp *ctx)
{
        struct uoa_bpf_wild_key k = { .proto = IPPROTO_UDP };
        struct udp_sock *udp = ctx->udp_sk;
        const struct uoa_bpf_sk *st;
        struct sock *sk;

        if (!udp)
                return 0;
        sk = &udp->inet.sk;
        st = bpf_sk_storage_get(&uoa_sk, sk, 0, 0);
        if (!st || !(st->flags & UOA_BPF_SK_WILD))
                return 0;
        k.uid = st->uid;
        k.family = sk->__sk_common.skc_family;
        k.port = sk->__sk_common.skc_num;
        (void) bpf_map_update_elem(&uoa_wild, &k, sk, BPF_ANY);
        if (k.family == AF_INET6) {
                k.family = AF_INET;
                (void) bpf_map_update_elem(&uoa_wild, &k, sk, BPF_NOEXIST);
        }
        return 0;
}

/* A packet for a slice's address and a port the slice has a wildcard
 * socket on: that socket (tubular's steering). Anything else, including
 * the host's own addresses, goes to the kernel's usual lookup. */
SEC("sk_lookup")
int uoa_lookup(struct bpf_sk_lookup *ctx)
{
        struct uoa_bpf_owner_key ok = { .family = ctx->family };
        struct uoa_bpf_wild_key wk;
        struct bpf_sock *sk;
        __u32 *uid;

        if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
                return SK_PASS;
        if (ctx->family == AF_INET)
                ok.addr[0] = ctx->local_ip4;
        else {
                ok.addr[0] = ctx->local_ip6[0];
                ok.addr[1] = ctx->local_ip6[1];
                ok.addr[2] = ctx->local_ip6[2];
                ok.addr[3] = ctx->local_ip6[3];
        }
        uid = bpf_map_lookup_elem(&uoa_owner, &ok);
        if (!uid) {
                ok.port = ctx->local_port; /* a shared address: whose range holds the port */
                uid = bpf_map_lookup_elem(&uoa_owner, &ok);
                if (!uid)
                        return SK_PASS;
        }
        wk = (struct uoa_bpf_wild_key){
                .uid = *uid, .family = (__u16) ctx->family, .proto = (__u16) ctx->protocol, .port = ctx->local_port
        };
        sk = bpf_map_lookup_elem(&uoa_wild, &wk);
        if (!sk)
                return SK_PASS;
        (void) bpf_sk_assign(ctx, sk, 0); /* a v6only socket refuses IPv4: then the usual lookup */
        bpf_sk_release(sk);
        return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
