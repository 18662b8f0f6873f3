/* policy/policy_rules.c: a policy's routing rules as decision trees.
 *
 * The kernel walks a family's rule list in pref order, every rule, until one
 * matches and its table gives a route; one rule per slice would make every
 * lookup on the host (root's, forwarded ones) walk them all. So the rules
 * form two binary trees of `goto`s, entered from the first prefs:
 *
 *   - by source: keys are address + source port (a dedicated address is the
 *     whole port range of its address, a shared one its slice's range). This
 *     routes what leaves from a slice's address: its own sockets once bound
 *     (uoad and the kernel engine bind them before any lookup), and what the
 *     kernel sends for it (replies, RSTs, time-wait ACKs);
 *   - by uid, for a lookup without a source yet (`from 0.0.0.0/32`, `::/128`):
 *     an unbound socket's first lookup, which picks its source.
 *
 * A tree is a complete binary tree of at most TREE_LEVELS levels over the
 * bits below the prefix every key shares; node i sits at a fixed pref, base
 * + 3i (entries, then tests, then an exit), so the prefs of a node do not
 * depend on what else is in the policy: adding or removing one slice changes
 * the rules on its path only. A test jumps past the nodes that would not
 * branch (so a source that is no slice's leaves after a rule or two), a
 * subtree holding one key is that key's rule itself, and every node ends in
 * `lookup main`: what a slice's table throws back, and what matches no key,
 * is routed by main at once, as it was when the lookup fell past every slice
 * rule to pref 32766. A lookup walks about two rules per level plus the keys
 * of one leaf; a leaf spans 2^(bits - TREE_LEVELS) keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/macro.h"
#include "policy/policy_rules.h"

#define TREE_LEVELS 11u
#define TREE_NODES ((1u << (TREE_LEVELS + 1)) - 1)
/* The trees' tops: the uid tree's first, as a lookup without a source is
 * also one "from" 0.0.0.0, which the source tree's top may cover. */
#define PREF_TOP_UID POLICY_RULES_PREF_MIN
#define PREF_TOP_NO_SOURCE (PREF_TOP_UID + 1) /* from 0: no slice's, to main */
#define PREF_TOP_ADDR (PREF_TOP_UID + 2)
#define PREF_TOP_EXIT (PREF_TOP_UID + 3)      /* lookup main */
#define PREF_ADDR_BASE (PREF_TOP_UID + 4)
#define PREF_UID_BASE (PREF_ADDR_BASE + 3 * TREE_NODES)
_Static_assert(PREF_UID_BASE + 3 * TREE_NODES - 1 <= POLICY_RULES_PREF_MAX, "the trees fit below main's rule");

/* A key, most significant bit first: a uid (32 bits), or an address then a
 * port (48 or 144 bits). */
typedef struct key {
        uint8_t b[18];
} key;

typedef struct entry {
        key lo, hi;
        uint32_t table;
} entry;

typedef struct tree {
        bool by_uid;
        int family;
        unsigned bits;      /* of a key */
        unsigned addr_bits; /* of its address part (by source) */
        uint32_t base;      /* node 0's pref */
        policy_rules *out;
        int err;
} tree;

static bool key_bit(const key *k, unsigned i)
{
        return k->b[i / 8] >> (7 - i % 8) & 1;
}

/* k with every bit from `from` on cleared (ones: set). */
static key key_cut(const key *k, unsigned from, bool ones)
{
        key r = *k;

        for (unsigned i = from; i < sizeof(r.b) * 8; i++) {
                uint8_t m = (uint8_t) (1u << (7 - i % 8));

                r.b[i / 8] = (uint8_t) (ones ? r.b[i / 8] | m : r.b[i / 8] & ~m);
        }
        return r;
}

static unsigned key_common(const key *a, const key *b, unsigned bits)
{
        unsigned i = 0;

        while (i < bits && key_bit(a, i) == key_bit(b, i))
                i++;
        return i;
}

static uint32_t key_u32(const key *k, unsigned at)
{
        return (uint32_t) k->b[at] << 24 | (uint32_t) k->b[at + 1] << 16 | (uint32_t) k->b[at + 2] << 8 | k->b[at + 3];
}

static uint16_t key_port(const tree *t, const key *k)
{
        return (uint16_t) (k->b[t->addr_bits / 8] << 8 | k->b[t->addr_bits / 8 + 1]);
}

static void push(tree *t, const policy_rule *r)
{
        policy_rules *o = t->out;

        if (t->err)
                return;
        if (o->n == o->cap) {
                size_t cap = o->cap ? 2 * o->cap : 64;
                policy_rule *v = realloc(o->v, cap * sizeof(*v));

                if (!v) {
                        t->err = -ENOMEM;
                        return;
                }
                o->v = v;
                o->cap = cap;
        }
        o->v[o->n++] = *r;
}

/* The selectors of keys lo..hi: a uid range, or a source prefix (with a
 * source-port range once it names one address). lo..hi is a prefix's block
 * or one entry. */
static void select_keys(const tree *t, const key *lo, const key *hi, policy_rule *r)
{
        if (t->by_uid) {
                r->has_uid = true;
                r->uid_lo = key_u32(lo, 0);
                r->uid_hi = key_u32(hi, 0);
                return;
        }
        unsigned len = key_common(lo, hi, t->addr_bits);

        r->src.family = t->family;
        memcpy(r->src.bytes, key_cut(lo, len, false).b, t->addr_bits / 8);
        r->src_len = (uint8_t) len;
        if (len == t->addr_bits && (key_port(t, lo) != 0 || key_port(t, hi) != 0xffff)) {
                r->sport_lo = key_port(t, lo);
                r->sport_hi = key_port(t, hi);
        }
}

static policy_rule rule_at(const tree *t, uint32_t pref)
{
        return (policy_rule) { .family = t->family, .pref = pref };
}

static void push_entry(tree *t, uint32_t pref, const entry *e, bool top)
{
        policy_rule r = rule_at(t, pref);

        select_keys(t, &e->lo, &e->hi, &r);
        r.action = POLICY_RULE_TABLE;
        r.table = e->table;
        if (top && t->by_uid) {
                /* Only a lookup without a source is the uid's to route. */
                r.src.family = t->family;
                r.src_len = (uint8_t) t->addr_bits;
        }
        push(t, &r);
}

static void push_main(tree *t, uint32_t pref)
{
        policy_rule r = rule_at(t, pref);

        r.action = POLICY_RULE_TABLE;
        r.table = POLICY_RULES_TABLE_MAIN;
        push(t, &r);
}

/* At bit, the first where e[0..n) (sorted, disjoint) differ: [0, *nl)
 * have it 0, [*nl, *nl + *no) straddle it (0 at lo, 1 at hi), the rest
 * have it 1. */
static void split(unsigned bit, const entry *e, size_t n, size_t *nl, size_t *no)
{
        size_t i = 0;

        while (i < n && !key_bit(&e[i].hi, bit))
                i++;
        *nl = i;
        while (i < n && !key_bit(&e[i].lo, bit))
                i++;
        *no = i - *nl;
}

static void push_node(tree *t, size_t i, unsigned d, unsigned bit, const entry *e, size_t n);

/* The rule at pref that sends lookups for e[0..n) (n >= 1) on: the entry's
 * own rule when it is the only one, else a goto to node i (depth d) that
 * tests their common prefix, so a key off it leaves at once. */
static void push_ref(tree *t, uint32_t pref, size_t i, unsigned d, const entry *e, size_t n, bool top)
{
        policy_rule r = rule_at(t, pref);
        unsigned bit;
        size_t nl = 0, no = n;

        if (n == 1) {
                push_entry(t, pref, e, top);
                return;
        }
        bit = key_common(&e[0].lo, &e[n - 1].hi, t->bits);
        if (d < TREE_LEVELS)
                split(bit, e, n, &nl, &no);
        {
                key lo = key_cut(&e[0].lo, bit, false), hi = key_cut(&e[0].lo, bit, true);

                select_keys(t, &lo, &hi, &r);
        }
        if (top && t->by_uid) {
                r.src.family = t->family;
                r.src_len = (uint8_t) t->addr_bits;
        }
        r.action = POLICY_RULE_GOTO;
        /* The node's first pref that has a rule: the kernel skips a goto
         * to an empty pref. */
        r.target = t->base + 3 * (uint32_t) i + (no ? 0 : 1);
        push(t, &r);
        push_node(t, i, d, bit, e, n);
}

/* Node i: at p its entries (those straddling bit; at the last level all),
 * at p + 1 its two halves, at p + 2 the exit to main. */
static void push_node(tree *t, size_t i, unsigned d, unsigned bit, const entry *e, size_t n)
{
        uint32_t p = t->base + 3 * (uint32_t) i;
        size_t nl = 0, no = n;

        if (d < TREE_LEVELS)
                split(bit, e, n, &nl, &no);
        for (size_t k = nl; k < nl + no; k++)
                push_entry(t, p, &e[k], false);
        if (nl)
                push_ref(t, p + 1, 2 * i + 1, d + 1, e, nl, false);
        if (n - nl - no)
                push_ref(t, p + 1, 2 * i + 2, d + 1, e + nl + no, n - nl - no, false);
        push_main(t, p + 2);
}

static int entry_cmp(const void *x, const void *y)
{
        return memcmp(((const entry *) x)->lo.b, ((const entry *) y)->lo.b, sizeof(key));
}

/* The tree of e[0..n), its top rule at pref top. */
static void push_tree(tree *t, uint32_t top, entry *e, size_t n)
{
        if (!n)
                return;
        qsort(e, n, sizeof(*e), entry_cmp);
        push_ref(t, top, 0, 0, e, n, true);
}

static key key_of_uid(uid_t u)
{
        key k = {};

        k.b[0] = (uint8_t) (u >> 24);
        k.b[1] = (uint8_t) (u >> 16);
        k.b[2] = (uint8_t) (u >> 8);
        k.b[3] = (uint8_t) u;
        return k;
}

static key key_of_source(const uoa_addr *a, unsigned addr_bytes, uint16_t port)
{
        key k = {};

        memcpy(k.b, a->bytes, addr_bytes);
        k.b[addr_bytes] = (uint8_t) (port >> 8);
        k.b[addr_bytes + 1] = (uint8_t) port;
        return k;
}

int policy_plan_rules(const policy *p, int family, policy_rules *ret)
{
        unsigned addr_bytes = uoa_addr_size(family);
        size_t n_addr = 0, n_uid = 0, n_slices = policy_slice_count(p);
        entry *by_addr = NULL, *by_uid = NULL;
        tree t = { .family = family, .addr_bits = addr_bytes * 8, .out = ret };
        size_t n0 = ret->n;

        for (size_t i = 0; i < n_slices; i++) {
                const policy_slice *s = policy_slice_at(p, i);

                if (!s->table)
                        continue;
                for (size_t j = 0; j < s->n_addrs; j++)
                        n_addr += s->addrs[j].addr.family == family;
        }
        by_addr = calloc(n_addr ? n_addr : 1, sizeof(*by_addr));
        by_uid = calloc(n_slices ? n_slices : 1, sizeof(*by_uid));
        if (!by_addr || !by_uid) {
                free(by_addr);
                free(by_uid);
                return -ENOMEM;
        }
        n_addr = 0;
        for (size_t i = 0; i < n_slices; i++) {
                const policy_slice *s = policy_slice_at(p, i);

                /* A family the slice has no address of needs no rule: it
                 * cannot send with such a source (EADDRNOTAVAIL). */
                if (!s->table || !policy_slice_primary(s, family))
                        continue;
                by_uid[n_uid++] = (entry) { key_of_uid(s->uid), key_of_uid(s->uid), s->table };
                for (size_t j = 0; j < s->n_addrs; j++) {
                        const policy_address *a = &s->addrs[j];

                        if (a->addr.family != family)
                                continue;
                        by_addr[n_addr++] = (entry) { key_of_source(&a->addr, addr_bytes, a->shared ? a->port_lo : 0),
                                                      key_of_source(&a->addr, addr_bytes,
                                                                    a->shared ? a->port_hi : 0xffff),
                                                      s->table };
                }
        }
        t.bits = t.addr_bits + 16;
        t.base = PREF_ADDR_BASE;
        push_tree(&t, PREF_TOP_ADDR, by_addr, n_addr);
        t.by_uid = true;
        t.bits = 32;
        t.base = PREF_UID_BASE;
        push_tree(&t, PREF_TOP_UID, by_uid, n_uid);
        if (n_uid) {
                /* Root's and other users' unbound lookups: past the source
                 * tree, whose top may cover 0.0.0.0. */
                policy_rule r = rule_at(&t, PREF_TOP_NO_SOURCE);

                r.action = POLICY_RULE_TABLE;
                r.table = POLICY_RULES_TABLE_MAIN;
                r.src.family = family;
                r.src_len = (uint8_t) t.addr_bits;
                push(&t, &r);
        }
        if (n_uid || n_addr)
                push_main(&t, PREF_TOP_EXIT);
        free(by_addr);
        free(by_uid);
        if (t.err)
                ret->n = n0;
        return t.err;
}

int policy_rule_cmp(const policy_rule *a, const policy_rule *b)
{
#define CMP(f) \
        if (a->f != b->f) \
        return a->f < b->f ? -1 : 1
        CMP(family);
        CMP(pref);
        CMP(action);
        CMP(table);
        CMP(target);
        CMP(has_uid);
        CMP(uid_lo);
        CMP(uid_hi);
        CMP(src.family);
        CMP(src_len);
        CMP(sport_lo);
        CMP(sport_hi);
#undef CMP
        return memcmp(a->src.bytes, b->src.bytes, uoa_addr_size(a->src.family));
}
