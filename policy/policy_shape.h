/* policy/policy_shape.h: the shaping plan of docs/design.md §3 egress/ingress
 * as pure functions of a policy: which slice gets which HTB class, on which
 * interfaces, with what rate and burst, and the (address, port) keys that
 * classify a shaped interface's incoming traffic. No I/O; uoad/shape.c
 * programs the kernel from it, policy_plan.c's nft map sets the classes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* Every shaped interface (and IFB) gets one HTB qdisc with this handle, so a
 * packet whose skb->priority is POLICY_SHAPE_MAJOR:minor goes straight to
 * that class (HTB classifies by priority when its major is the qdisc's
 * handle, no filter needed). Unclassified traffic goes to the default class:
 * root, users without a slice, slices without a rate. */
#define POLICY_SHAPE_MAJOR 0x7561u
#define POLICY_SHAPE_DEFAULT 0xffffu
#define POLICY_SHAPE_CLASSID(minor) ((POLICY_SHAPE_MAJOR << 16) | (minor))
/* The default class's rate: far above any link, so it never slows anything. */
#define POLICY_SHAPE_UNLIMITED 8000000000000ull /* 8 tbit */
/* Shaped slices per policy: HTB minors are 16 bits, 0 and ffff are taken. */
#define POLICY_SHAPE_SLICES_MAX 0xfffeu
/* The IFB device that carries interface IFINDEX's incoming traffic. */
#define POLICY_SHAPE_IFB_PREFIX "uoaifb"

typedef struct policy_shape_slice {
        const policy_slice *slice;
        uint16_t minor;           /* class POLICY_SHAPE_MAJOR:minor */
} policy_shape_slice;

typedef struct policy_shape {
        policy_shape_slice *v;    /* the slices with a rate, sorted by uid */
        size_t n;
} policy_shape;

/* The classes of p's shaped slices. A slice's minor is its uid when the uid
 * is 1..0xfffe (stable across every policy change and restart), else the
 * next free minor after uid % 0xfffe. -E2BIG past POLICY_SHAPE_SLICES_MAX. */
int policy_shape_build(const policy *p, policy_shape *ret);
void policy_shape_done(policy_shape *sh);
const policy_shape_slice *policy_shape_find_minor(const policy_shape *sh, uint16_t minor);

/* A slice's rates apply on every interface it may use but loopback. */
bool policy_shape_on_interface(const policy_slice *s, const char *ifname);
/* Interfaces uoad never shapes whatever the policy says: lo and its own IFBs. */
bool policy_shape_interface_exempt(const char *ifname);

/* One HTB class as uoad programs it: rate and ceil in byte/s, burst and
 * cburst in bytes, quantum in bytes. */
typedef struct policy_shape_htb {
        uint64_t rate;
        uint32_t burst, quantum;
} policy_shape_htb;
/* HTB parameters for a rate in bit/s. The burst covers 10 ms at the rate
 * and never less than a few GSO super-packets (64 KiB each on veth and TSO
 * NICs), or TCP cannot keep a class full and falls short of its rate. */
void policy_shape_htb_params(uint64_t bps, policy_shape_htb *ret);

/* The classes of interface ifname for direction (false: egress, true:
 * ingress): emit() once per slice with a rate in that direction that may use
 * it, in uid order. Returns the count. */
typedef void (*policy_shape_class_fn)(const policy_shape_slice *ss, uint64_t bps, void *userdata);
size_t policy_shape_classes(const policy_shape *sh, const char *ifname, bool ingress,
                            policy_shape_class_fn emit, void *userdata);

/* Incoming traffic of a slice is classified by destination: each of its
 * addresses (dedicated: the whole address; shared: its port range, as the
 * fewest (port, mask) pairs that cover exactly lo..hi). emit() once per key. */
typedef struct policy_shape_key {
        uoa_addr addr;
        uint16_t port, port_mask; /* port_mask 0: any port */
} policy_shape_key;
typedef void (*policy_shape_key_fn)(const policy_shape_slice *ss, const policy_shape_key *k, void *userdata);
size_t policy_shape_keys(const policy_shape_slice *ss, policy_shape_key_fn emit, void *userdata);
/* lo..hi as prefix blocks (value, mask), at most 32 of them. */
size_t policy_shape_port_blocks(uint16_t lo, uint16_t hi, uint16_t ret_port[32], uint16_t ret_mask[32]);
