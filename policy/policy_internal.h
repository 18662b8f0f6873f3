/* policy/policy_internal.h: the representation behind the opaque policy
 * type, shared by the policy/ files only (parse, build, lookup, format). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macro.h"
#include "policy/policy.h"

typedef enum assign_kind {
        ASSIGN_ADDRESS,
        ASSIGN_TABLE,
        ASSIGN_INTERFACE,
        ASSIGN_RAW,
        ASSIGN_EGRESS,
        ASSIGN_INGRESS,
        _ASSIGN_KIND_MAX,
} assign_kind;

/* One policy line, normalised (numeric uid, binary address). */
typedef struct policy_assign {
        uid_t uid;
        assign_kind kind;
        unsigned src;             /* which of the texts being read (policy_source) */
        unsigned line;            /* line in that text; 0: inherited by an edit */
        policy_address addr;      /* ASSIGN_ADDRESS */
        uint32_t table;           /* ASSIGN_TABLE */
        char ifname[POLICY_IFNAME_MAX]; /* ASSIGN_INTERFACE */
        uint64_t rate;            /* ASSIGN_EGRESS, ASSIGN_INGRESS: bit/s */
} policy_assign;

/* Open-addressing hash index: slots hold (item index + 1, hash). The items
 * live in the caller's arrays; equality is the caller's callback. */
typedef struct pindex_slot {
        uint32_t idx1; /* 0: empty */
        uint32_t hash;
} pindex_slot;

typedef struct pindex {
        pindex_slot *slots;
        size_t mask; /* capacity - 1; capacity is a power of two */
        size_t n;
} pindex;

#define PINDEX_NONE UINT32_MAX

typedef bool (*pindex_eq)(const void *ctx, uint32_t idx);

uint32_t pindex_find(const pindex *t, uint64_t hash, pindex_eq eq, const void *ctx);
int pindex_insert(pindex *t, uint64_t hash, uint32_t idx);
void pindex_done(pindex *t);

/* Port -> range index for one shared address: 256 pages of 256 ports; a page
 * is either uniform (one owner for all its ports) or a leaf array. Memory is
 * proportional to the number of ranges, lookups are two loads. */
#define PORTIDX_NONE UINT16_MAX
/* Addresses with at most this many ranges are scanned instead of indexed. */
#define PORTIDX_LINEAR_MAX 8u

typedef struct port_index {
        uint32_t top[256];        /* PORTIDX_UNIFORM | range, or leaf number */
        uint16_t (*leaves)[256];
        size_t n_leaves, cap_leaves;
} port_index;

typedef struct port_range {
        uint16_t lo, hi;
        uid_t uid;
        unsigned src, line;
} port_range;

/* Everything known about one assigned address. */
typedef struct addr_entry {
        uoa_addr addr;
        bool shared;
        uid_t uid;                /* dedicated: the owner */
        unsigned src, line;       /* dedicated: where it was assigned */
        port_range *ranges;       /* shared: in assignment order */
        size_t n_ranges, cap_ranges;
        port_index *ports;        /* shared with many ranges: port -> range */
} addr_entry;

uint32_t addr_entry_range_at(const addr_entry *e, uint16_t port);
/* The range index (in e->ranges) of the lowest-port range overlapping lo..hi. */
uint32_t addr_entry_overlap(const addr_entry *e, uint16_t lo, uint16_t hi);
int addr_entry_add_range(addr_entry *e, const port_range *r);
void addr_entry_done(addr_entry *e);

struct policy {
        policy_assign *assigns;   /* in assignment order */
        size_t n_assigns;
        policy_slice *slices;     /* sorted by uid */
        size_t n_slices;
        policy_address *addr_pool;           /* backing store of slices[].addrs */
        char (*ifname_pool)[POLICY_IFNAME_MAX]; /* ... and of slices[].ifnames */
        addr_entry *addrs;
        size_t n_addrs, cap_addrs;
        pindex uid_index;         /* uid -> slices[] */
        pindex addr_index;        /* address -> addrs[] */
};

uint64_t policy_uid_hash(uid_t uid);
uint32_t policy_addr_find(const policy *p, const uoa_addr *a);
/* IPv4-mapped IPv6 addresses as AF_INET, anything else unchanged. */
uoa_addr policy_addr_unmap(const uoa_addr *a);

/* Building: feed normalised assignments one by one; each is validated
 * against those before it. */
typedef struct policy_builder policy_builder;

policy_builder *policy_builder_new(void);
/* The texts the assignments' src index (for messages naming an earlier line
 * of another text); srcs must outlive b. Without it, every line is local. */
void policy_builder_sources(policy_builder *b, const policy_source *srcs, size_t n);
void policy_builder_free(policy_builder *b);
/* Returns 0, -EINVAL with reason (no FILE:LINE prefix) or -ENOMEM. */
int policy_builder_add(policy_builder *b, const policy_assign *a, char *reason, size_t len);
/* The finished policy; b is consumed either way. */
int policy_builder_finish(policy_builder *b, policy **ret);

/* An assignment's identity: a slice has at most one assignment per key
 * (uid, kind, and the address or interface name for those kinds). */
uint64_t policy_assign_key_hash(const policy_assign *a);
bool policy_assign_same_key(const policy_assign *a, const policy_assign *b);
/* Same key and same values (ports, table id). */
bool policy_assign_equal(const policy_assign *a, const policy_assign *b);
/* Format one assignment as a policy line (no newline) into buf. */
void policy_assign_format(const policy_assign *a, char *buf, size_t len);
/* Longest line policy_assign_format() writes, with its NUL. */
#define POLICY_ASSIGN_STRLEN 128u
