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
enum { UOA_BPF_HOOK_BIND, UOA_BPF_HOOK_CONNECT, UOA_BPF_HOOK_SENDMSG };
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
