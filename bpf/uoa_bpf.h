/* bpf/uoa_bpf.h: the kernel engine's ABI, shared by the programs (uoa.bpf.c),
 * the pure map plan (policy/policy_bpf.c) and the loader (uoad/engine_bpf.c).
 * Addresses are in network byte order, ports in host byte order. */
#pragma once

#include <linux/types.h>

/* Addresses per family a slice's value carries for the wildcard (the first
 * is primary) and for source selection; every address, however many, is in
 * the address map for bind decisions. */
#define UOA_BPF_ADDRS_MAX 8
#define UOA_BPF_SLICES_MAX (1u << 17)  /* 131072 slices */
#define UOA_BPF_ADDR_KEYS_MAX (1u << 18)

struct uoa_bpf_addr4 {
        __u32 addr;
        __u16 lo, hi; /* a shared address's port range; 0, 0: dedicated */
};

struct uoa_bpf_addr6 {
        __u32 addr[4];
        __u16 lo, hi;
};

/* Map uoa_slices: uid -> this. */
struct uoa_bpf_slice {
        __u32 n4, n6; /* entries used in a4, a6 */
        struct uoa_bpf_addr4 a4[UOA_BPF_ADDRS_MAX];
        struct uoa_bpf_addr6 a6[UOA_BPF_ADDRS_MAX];
};

/* Map uoa_addrs: (uid, family, address) -> its port range. An IPv4 address
 * sits in addr[0], the rest zero. */
struct uoa_bpf_addr_key {
        __u32 uid;
        __u32 family; /* AF_INET or AF_INET6 */
        __u32 addr[4];
};

/* Maps uoa_src4 and uoa_src6 (LPM tries): source selection for slices with
 * several addresses of a family. For every prefix length L and address i of
 * the slice, the key (uid, first L bits of address i) maps to the index of
 * the first address with those L bits; a longest-prefix lookup of (uid,
 * destination) then names the address with the longest prefix in common
 * with the destination, ties to the earlier (docs/design.md §4). No entry: index 0,
 * the primary. prefixlen counts the uid's 32 bits. */
struct uoa_bpf_src4_key {
        __u32 prefixlen;
        __u32 uid; /* network byte order, so that its bits come first */
        __u32 addr;
};

struct uoa_bpf_src6_key {
        __u32 prefixlen;
        __u32 uid;
        __u32 addr[4];
};

#define UOA_BPF_SRC_KEYS_MAX (1u << 20)

/* Map uoa_events (a ring buffer): one record per refusal, for uoad's log
 * and counters (the programs' own decisions never reach uoad otherwise). */
enum { UOA_BPF_HOOK_BIND, UOA_BPF_HOOK_CONNECT, UOA_BPF_HOOK_SENDMSG,
       UOA_BPF_HOOK_WILD_UDP /* not a refusal: a UDP wildcard socket was bound (uoad steers it) */ };
#define UOA_BPF_EVENTS_BYTES (64u * 1024)

struct uoa_bpf_event {
        __u32 uid, pid;
        __u16 hook;   /* UOA_BPF_HOOK_* */
        __u16 err;    /* the errno the call got */
        __u16 family; /* of the address asked for */
        __u16 port;   /* host byte order */
        __u32 addr[4];
        char comm[16];
};

struct uoa_bpf_range {
        __u16 lo, hi; /* 0, 0: dedicated, every port */
};

/* The wildcard (docs/design.md §4, first row). A slice's wildcard socket
 * is bound to its primary address; an sk_lookup program hands it what
 * arrives for the slice's other addresses, and the connect/sendmsg programs
 * send the slice's own loopback traffic for its wildcard ports there.
 *
 * Map uoa_sk (socket storage): what the programs remember of a socket of a
 * slice. */
#define UOA_BPF_SK_WILD 1u /* bound by a wildcard request */
#define UOA_BPF_SK_LOOP 2u /* its loopback peer became its slice's address */
#define UOA_BPF_SK_DUAL 4u /* a dual-stack wildcard: bound to the primary IPv4,
                            * v4-mapped, since the kernel makes a socket bound
                            * to an IPv6 address v6only; getsockname names the
                            * primary IPv6 (name6) all the same */

struct uoa_bpf_sk {
        __u32 uid;
        __u32 flags;         /* UOA_BPF_SK_* */
        __u32 loop_addr[4];  /* UOA_BPF_SK_LOOP: the loopback address asked for (IPv4 in [3] v4-mapped or [0]) */
        __u32 slice_addr[4]; /* ... and the slice's address it became */
        __u32 loop_port;     /* ... the port, network byte order as in bpf_sock_addr */
        __u32 name6[4];      /* UOA_BPF_SK_DUAL: the address getsockname reports */
};

/* Map uoa_wild (a SOCKHASH): (uid, family, protocol, port) -> the slice's
 * wildcard socket serving packets of that family (a dual-stack IPv6 socket
 * is under both families, behind an IPv4 one of the same port). TCP
 * listeners enter at listen (sock_ops), UDP sockets once bound (an
 * iterator uoad runs); the kernel removes a socket when it closes. */
struct uoa_bpf_wild_key {
        __u32 uid;
        __u16 family;
        __u16 proto; /* IPPROTO_TCP or IPPROTO_UDP */
        __u32 port;  /* host byte order */
};
#define UOA_BPF_WILD_MAX (1u << 16)

/* Map uoa_owner: (family, port, address) -> the uid it belongs to. A
 * dedicated address has port 0; a shared one an entry per port of each
 * slice's range. Only slices' addresses: the host's are never steered. */
struct uoa_bpf_owner_key {
        __u32 family;
        __u32 port; /* host byte order; 0: a dedicated address, every port */
        __u32 addr[4];
};
#define UOA_BPF_OWNER_KEYS_MAX (1u << 20)
