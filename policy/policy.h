/* policy/policy.h: the per-uid policy of docs/design.md §3 and the decisions of §4,
 * as pure functions: no I/O, no logging, no global state. A policy object is
 * immutable once built; a change builds a new one and the caller swaps it in. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/addr.h"

/* Largest accepted policy text and line (bytes); longer input is refused. */
#define POLICY_TEXT_MAX (64u << 20)
#define POLICY_LINE_MAX 1024u
#define POLICY_IFNAME_MAX 16u /* IFNAMSIZ, including the NUL */
/* Shaping rates (§3 egress/ingress), bit/s: from 8bit (one byte a second,
 * HTB's unit) to 1000gbit. */
#define POLICY_RATE_MIN 8ull
#define POLICY_RATE_MAX 1000000000000ull
/* A rate in tc's units, the largest that writes it exactly ("40mbit"). */
#define POLICY_RATE_STRLEN 32u
const char *policy_rate_format(uint64_t bps, char *buf, size_t len);

typedef struct policy_address {
        uoa_addr addr;
        bool shared;              /* true: this slice owns only port_lo..port_hi */
        uint16_t port_lo, port_hi;
} policy_address;

typedef struct policy_slice {
        uid_t uid;
        policy_address *addrs;    /* in file order: the first of a family is primary */
        size_t n_addrs;
        uint32_t table;           /* 0: no table */
        char (*ifnames)[POLICY_IFNAME_MAX]; /* empty list: any interface */
        size_t n_ifnames;
        bool raw;
        uint64_t egress, ingress; /* shaping rates in bit/s (§3); 0: not shaped */
} policy_slice;

typedef struct policy policy;

/* Resolves a USER word that is not all digits (a login name) to a uid.
 * Returns 0, or -ENOENT for an unknown user. */
typedef int (*policy_user_resolver)(const char *name, uid_t *ret_uid, void *userdata);

/* One text of a policy: the main file or one of its drop-ins (§3). */
typedef struct policy_source {
        const char *name;         /* FILE of the messages */
        const char *text;
        size_t len;
} policy_source;

/* An err buffer of this size holds the first errors of any text, one a line,
 * and the count of those left out. */
#define POLICY_ERR_MAX 16384u

/* Parse and validate the texts srcs[0..n) as one policy (§3): the lines of
 * each in order, the main file first, validated together. On success *ret is
 * a new policy. On failure returns -EINVAL (or -ENOMEM, -E2BIG when the texts
 * together exceed POLICY_TEXT_MAX), *ret is untouched and err holds every
 * error, one "FILE:LINE: reason" a line ('\n' between, none at the end); an
 * error about an earlier line names it, "(line N)" in the same file,
 * "(FILE:N)" in another. A too small err ends with "(N more errors not shown)". */
int policy_parse_sources(const policy_source *srcs, size_t n,
                         policy_user_resolver resolve, void *userdata,
                         policy **ret, char *err, size_t errlen);
/* policy_parse_sources() of what common/conffiles.h read (the main file and
 * its drop-ins), each text named by its path. */
struct conffiles;
int policy_parse_conffiles(const struct conffiles *files,
                           policy_user_resolver resolve, void *userdata,
                           policy **ret, char *err, size_t errlen);
/* policy_parse_sources() of one text. */
int policy_parse(const char *text, size_t len, const char *filename,
                 policy_user_resolver resolve, void *userdata,
                 policy **ret, char *err, size_t errlen);

/* A new policy: old plus the lines in text (add), or old minus them (del).
 * Every line of a del must match an assignment exactly (after normalisation),
 * else -ENOENT with a message. The result is validated as a whole;
 * on any error *ret is untouched and err says why, every error as in
 * policy_parse_sources() ("LABEL:LINE: reason"). */
int policy_edit(const policy *old, bool add, const char *text, size_t len,
                const char *label, policy_user_resolver resolve, void *userdata,
                policy **ret, char *err, size_t errlen);

/* An empty policy (no slices), e.g. before the first load. */
policy *policy_new_empty(void);
void policy_free(policy *p);

/* The policy as canonical text: one assignment a line, numeric uids, in the
 * order assignments were made, "UID address IP[ ports LO-HI]", "UID table N",
 * "UID interface NAME", "UID raw", "UID egress RATE", "UID ingress RATE". Only uid's lines when only_uid is set.
 * Returns a malloc'ed NUL-terminated string, or NULL on allocation failure.
 * policy_parse() of the output yields an equal policy. */
char *policy_format(const policy *p, const uid_t *only_uid);

/* Lookups, O(1). */
size_t policy_slice_count(const policy *p);
const policy_slice *policy_slice_at(const policy *p, size_t i); /* sorted by uid */
const policy_slice *policy_slice_find(const policy *p, uid_t uid);
/* For walking two policies in uid order side by side: p's slice of uid,
 * *cursor moved past p's smaller uids (start at 0, ask in ascending uid).
 * Sequential, so a diff of two large policies costs no hash lookups. */
const policy_slice *policy_slice_seek(const policy *p, size_t *cursor, uid_t uid);
/* The slice owning addr (and, on a shared address, port). NULL if the address
 * is nobody's, or it is shared and port is in nobody's range. *ret_shared
 * (optional) tells whether the address is shared. */
const policy_slice *policy_address_owner(const policy *p, const uoa_addr *addr,
                                         uint16_t port, bool *ret_shared);
/* The slice's entry for addr, or NULL if addr is not the slice's. */
const policy_address *policy_slice_address(const policy_slice *s, const uoa_addr *addr);
/* Whether two slices list the same addresses, in the same order, with the
 * same ranges (what the guard's sets and the kernel engine's maps hold of a
 * slice; a reload skips the slices for which this holds). */
bool policy_slice_addresses_equal(const policy_slice *a, const policy_slice *b);
/* The primary (first listed) address of family, or NULL. */
const policy_address *policy_slice_primary(const policy_slice *s, int family);
bool policy_slice_may_use_interface(const policy_slice *s, const char *ifname);

/* The §4 bind decision, for a socket of sock_family (AF_INET or AF_INET6).
 * addr is what the process asked for (AF_INET for an IPv4-mapped request on
 * an AF_INET6 socket). On success *ret says what to bind:
 *   addr        the address (AF_INET on an AF_INET6 socket means IPv4-mapped)
 *   port        the port; 0 with lo..hi set means "a free port in lo..hi",
 *               0 with lo == hi == 0 means "any free port" (the kernel's choice)
 *   lo, hi      the slice's range when the address is shared, else 0, 0
 * Rules: wildcard -> the primary address of the family (on a dual-stack
 * AF_INET6 socket, the primary IPv6 or else the primary IPv4, mapped);
 * loopback -> allowed, ports below unpriv_port_start refused as on an ordinary
 * host; the slice's address -> allowed; shared address port rules: 0 -> free
 * port in range, in range -> kept, 0 < p <= size-1 -> lo + p, else -EACCES.
 * Errors: -EADDRNOTAVAIL (not the slice's, or no address of the family),
 * -EACCES (port), -EAFNOSUPPORT (IPv6 address on an AF_INET socket),
 * -EINVAL (IPv4 or v4-mapped address on a v6only socket, as Linux answers). */
typedef struct policy_bind {
        uoa_addr addr;
        uint16_t port;
        uint16_t lo, hi;
} policy_bind;

int policy_bind_decide(const policy_slice *s, int sock_family, bool v6only,
                       const uoa_addr *addr, uint16_t port,
                       uint16_t unpriv_port_start, policy_bind *ret);

/* Shared-address port mapping alone (the §4 "ports" row). Returns the port to
 * bind (0: a free port in range) or -EACCES. */
int policy_port_map(uint16_t lo, uint16_t hi, uint16_t port);

/* Source selection for an unbound socket sending to dst: the slice's address
 * of dst's family that fits best. Loopback destinations get the loopback
 * source (127.0.0.1 or ::1). hint, if not NULL, is the kernel's preferred
 * source for dst (RTA_PREFSRC of a route lookup); it wins when it is the
 * slice's. Then IPv4: longest common prefix, ties to the earlier (primary)
 * address; IPv6: RFC 6724 rules 1 (same address), 2 (scope), 6 (label, the
 * default policy table) and 8 (longest matching prefix), ties to file order.
 * *ret is a bind as in policy_bind_decide (port 0; lo..hi for shared).
 * -EADDRNOTAVAIL if the slice has no address of that family. */
int policy_source_select(const policy_slice *s, const uoa_addr *dst,
                         const uoa_addr *hint, policy_bind *ret);

/* Free-port search helper: the k-th candidate (k = 0, 1, ...) of a walk over
 * lo..hi starting at an offset derived from seed; visits each port once in
 * hi-lo+1 steps. */
uint16_t policy_port_candidate(uint16_t lo, uint16_t hi, uint32_t seed, uint32_t k);

/* The kernel guard's nftables part (docs/design.md §1, §7): the nft script that
 * replaces table `inet uoa` in one transaction with egress rules keyed on the
 * socket owner's uid: a slice's packet leaves only with one of its source
 * addresses (on a shared address, a source port of its range) or, through lo,
 * a loopback source; lo is checked like any interface but is never subject to
 * the slice's interface list; packets of other uids are untouched. Returns
 * malloc'ed text, NULL on allocation failure. policy_plan_nft_remove(): the
 * script that removes the table (valid whether or not it exists). */
#define POLICY_NFT_TABLE "uoa"
/* rtm_protocol / FRA_PROTOCOL of the routes and rules uoad makes: the guard
 * recognises its own objects by it, the netlink proxy hides and protects them. */
#define POLICY_GUARD_PROTO 250
/* The metric of uoad's `throw default` in each slice table: the worst, so any
 * default route a slice adds wins; the proxy keeps it uoad's alone. */
#define POLICY_GUARD_METRIC UINT32_MAX
char *policy_plan_nft(const policy *p);
char *policy_plan_nft_remove(void);
/* The script that turns the table of old's plan into p's by adding and
 * deleting set elements only (the chains never change): what a reload of a
 * few slices costs, whatever the number of slices. "" when nothing changed. */
char *policy_plan_nft_update(const policy *old, const policy *p);

/* The kernel engine's maps (bpf/uoa_bpf.h) for a policy: the uoa_slices value
 * of slice s (its first UOA_BPF_ADDRS_MAX addresses of each family, in file
 * order), and the uoa_addrs entry of its address i (< s->n_addrs). The map
 * contents for a policy are exactly these, for every slice and address.
 * policy_bpf_addr_key_decode(): the address a key names; false for a key
 * that is not one (unknown family). */
struct uoa_bpf_slice;
struct uoa_bpf_addr_key;
struct uoa_bpf_range;
void policy_bpf_slice(const policy_slice *s, struct uoa_bpf_slice *ret);
void policy_bpf_addr(const policy_slice *s, size_t i, struct uoa_bpf_addr_key *ret_key,
                     struct uoa_bpf_range *ret_range);
bool policy_bpf_addr_key_decode(const struct uoa_bpf_addr_key *k, uoa_addr *ret);
/* Source selection entries (uoa_src4/uoa_src6 in bpf/uoa_bpf.h): emit() is
 * called once per entry of slice s's trie of family, (uid, the first bits
 * of prefix) -> index; returns the count (0 for a slice with fewer than two
 * addresses of the family). policy_bpf_source_index(): the index an entry
 * (prefix, bits) of s has, -1 if s has no such entry. */
typedef void (*policy_bpf_source_fn)(uid_t uid, const uoa_addr *prefix, unsigned bits, uint32_t index,
                                     void *userdata);
size_t policy_bpf_sources(const policy_slice *s, int family, policy_bpf_source_fn emit, void *userdata);
int policy_bpf_source_index(const policy_slice *s, const uoa_addr *prefix, unsigned bits);

/* The wildcard's owner map (uoa_owner in bpf/uoa_bpf.h): emit() once per
 * entry of slice s (a dedicated address: port 0; a shared one: every port
 * of s's range); returns the count. policy_bpf_owner_kept(): whether p's
 * plan has key k (its value, the uid, is what the emitter gives). */
struct uoa_bpf_owner_key;
typedef void (*policy_bpf_owner_fn)(const struct uoa_bpf_owner_key *k, uint32_t uid, void *userdata);
size_t policy_bpf_owners(const policy_slice *s, policy_bpf_owner_fn emit, void *userdata);
bool policy_bpf_owner_kept(const policy *p, const struct uoa_bpf_owner_key *k);

/* Which socket calls a supervised process of s must still trap when the
 * kernel engine decides the rest (uoa-run builds its filter from this):
 * listen and sends with a destination always (the kernel auto-binds an
 * unbound listener or datagram socket to the wildcard and runs no BPF hook
 * for it; uoad binds it to the slice's address first, and the shim's mark
 * keeps sends on bound sockets off the trap); bind on a shared address (a
 * free port of the range is uoad's to find: the programs can only draw
 * one); connect when a family has several addresses and the slice a table
 * (the route's preferred source is uoad's lookup, the programs take the
 * longest match). With the seccomp engine everything traps. */
#define POLICY_TRAP_BIND (1u << 0)
#define POLICY_TRAP_LISTEN (1u << 1)
#define POLICY_TRAP_CONNECT (1u << 2)
#define POLICY_TRAP_SEND (1u << 3) /* sendto with a destination, sendmsg, sendmmsg */
#define POLICY_TRAPS_ALL 0xfu
unsigned policy_bpf_traps(const policy_slice *s);
