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
 *   - by uid, for a lookup without a source yet (`from 0.0.0.0/32`; IPv6:
 *     every lookup, see rule_keys()): an unbound socket's first lookup,
 *     which picks its source.
 *
 * A tree is a binary trie of the keys, split at the first bit where a
 * node's keys differ (so a test names the node's whole prefix, and a source
 * that is no slice's leaves after a rule or two), TREE_LEVELS deep as built;
 * node id i sits at prefs base + 3i (its entries, its tests, an exit), a
 * subtree of one key (IPv6: up to eight) is its keys' rules in its parent's
 * tests, and every node ends in `lookup main`: what a slice's table throws
 * back, and what matches no key, is routed by main at once, as it was when
 * the lookup fell past every slice rule to pref 32766. A lookup walks about
 * two rules per level and the entries of one node.
 *
 * Built from nothing, the trie depends on the keys only. A change is made
 * in the trie the kernel has (adopt()): its nodes keep their ids, a new key
 * becomes an entry of the deepest node whose prefix holds it, a few such
 * keys at one node get a node of their own, inserted between it and the
 * child in their way from ids kept free (adopt_mend()), a node with no key
 * left goes; so one slice more or less changes its own rules and a few
 * gotos, whatever the others are. A trie grown much worse than one built
 * anew (ADOPT_SLACK) is built anew. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/grow.h"
#include "policy/policy_rules.h"

#define TREE_LEVELS 11u
/* Node ids, level by level: level d holds a band of ids kept free for the
 * nodes a change puts above one of the level's (adopt_mend()), then the
 * level's 2^d heap positions, where a trie built anew puts its nodes. A
 * parent's id is below its children's: a goto only jumps forward. */
#define BAND(d) (16u + (1u << (d)) / 8)
#define LEVEL_IDS(d) (BAND(d) + (1u << (d)))
#define TREE_NODES \
        (LEVEL_IDS(0) + LEVEL_IDS(1) + LEVEL_IDS(2) + LEVEL_IDS(3) + LEVEL_IDS(4) + LEVEL_IDS(5) + LEVEL_IDS(6) + \
         LEVEL_IDS(7) + LEVEL_IDS(8) + LEVEL_IDS(9) + LEVEL_IDS(10) + LEVEL_IDS(11))
_Static_assert(TREE_LEVELS == 11, "TREE_NODES sums the levels 0..11");
#define TOP TREE_NODES /* the node id of a tree's top */
#define NONE UINT16_MAX
/* Each tree's top: its entries, then its tests; the uid tree's first, as a
 * lookup without a source is also one "from" 0.0.0.0, which the source
 * tree's tests may cover. */
#define PREF_TOP_UID POLICY_RULES_PREF_MIN
#define PREF_TOP_NO_SOURCE (PREF_TOP_UID + 2) /* from 0: no slice's, to main */
#define PREF_TOP_ADDR (PREF_TOP_UID + 3)
#define PREF_TOP_EXIT (PREF_TOP_UID + 5)      /* lookup main */
#define PREF_ADDR_BASE (PREF_TOP_UID + 6)
#define PREF_UID_BASE (PREF_ADDR_BASE + 3 * TREE_NODES)
_Static_assert(PREF_UID_BASE + 3 * TREE_NODES - 1 <= POLICY_RULES_PREF_MAX, "the trees fit below main's rule");
/* How many more rules than in the trie built anew a lookup may test in an
 * adopted one (keys added since it was built sit above where they would
 * be): past that, it is built anew. */
#define ADOPT_SLACK 12

/* A key, most significant bit first: a uid (32 bits), or an address then a
 * port (48 or 144 bits). */
typedef struct key {
        uint8_t b[18];
} key;

typedef struct node {
        bool used;
        uint16_t parent; /* a node id or TOP; its tests hold this node's goto */
        key lo, hi;      /* the block that goto tests */
        bool entries;    /* it has entries of its own (slot 0): tree_emit() */
} node;

typedef struct entry {
        key lo, hi;
        uint32_t table;
        uint16_t node;   /* where its rule is: the node's entries (slot 0) */
        uint8_t slot;    /* or tests (1) */
} entry;

typedef struct tree {
        bool by_uid;
        int family;
        unsigned bits;      /* of a key */
        unsigned addr_bits; /* of its address part (by source) */
        uint32_t base;      /* node 0's pref */
        uint32_t top;       /* the top's entries' pref; its tests: top + 1 */
        node nodes[TREE_NODES + 1];
        uint16_t child[TREE_NODES + 1], sibling[TREE_NODES]; /* adopt(): the tests of each */
        bool busy[TREE_NODES];  /* adopt(): the kernel has rules at its prefs */
        entry *e;
        size_t n;
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

static int key_cmp(const key *a, const key *b)
{
        return memcmp(a->b, b->b, sizeof(a->b));
}

static key key_of_uid(uid_t u)
{
        return (key) { { (uint8_t) (u >> 24), (uint8_t) (u >> 16), (uint8_t) (u >> 8), (uint8_t) u } };
}

static key key_of_source(const tree *t, const uint8_t *addr, uint16_t port)
{
        key k = {};

        memcpy(k.b, addr, t->addr_bits / 8);
        k.b[t->addr_bits / 8] = (uint8_t) (port >> 8);
        k.b[t->addr_bits / 8 + 1] = (uint8_t) port;
        return k;
}

static uint32_t key_uid(const key *k)
{
        return (uint32_t) k->b[0] << 24 | (uint32_t) k->b[1] << 16 | (uint32_t) k->b[2] << 8 | k->b[3];
}

static uint16_t key_port(const tree *t, const key *k)
{
        return (uint16_t) (k->b[t->addr_bits / 8] << 8 | k->b[t->addr_bits / 8 + 1]);
}

static bool within(const key *lo, const key *hi, const key *blo, const key *bhi)
{
        return key_cmp(lo, blo) >= 0 && key_cmp(hi, bhi) <= 0;
}

static bool overlaps(const key *lo, const key *hi, const key *blo, const key *bhi)
{
        return key_cmp(lo, bhi) <= 0 && key_cmp(blo, hi) <= 0;
}

/* ---- rules ------------------------------------------------------------------------ */

/* The selectors of keys lo..hi (a prefix's block, or one entry): a uid
 * range, or a source prefix, with a source-port range once it names one
 * address. At the IPv4 uid tree's top, also "from" 0.0.0.0: the lookups
 * without a source. (IPv6 cannot say so: a rule with a source prefix never
 * matches a lookup without one, so there the uid tree takes every lookup
 * of a uid in its range, and the source tree the rest.) */
static policy_rule rule_keys(const tree *t, uint32_t pref, const key *lo, const key *hi, bool top)
{
        policy_rule r = { .family = t->family, .pref = pref };

        if (t->by_uid) {
                r.has_uid = true;
                r.uid_lo = key_uid(lo);
                r.uid_hi = key_uid(hi);
                if (top && t->family == AF_INET) {
                        r.src.family = t->family;
                        r.src_len = (uint8_t) t->addr_bits;
                }
                return r;
        }
        unsigned len = key_common(lo, hi, t->addr_bits);

        r.src.family = t->family;
        memcpy(r.src.bytes, key_cut(lo, len, false).b, t->addr_bits / 8);
        r.src_len = (uint8_t) len;
        if (len == t->addr_bits && (key_port(t, lo) != 0 || key_port(t, hi) != 0xffff)) {
                r.sport_lo = key_port(t, lo);
                r.sport_hi = key_port(t, hi);
        }
        return r;
}

/* The keys a rule of this tree selects (the inverse of rule_keys()). */
static void rule_block(const tree *t, const policy_rule *r, key *lo, key *hi)
{
        if (t->by_uid) {
                *lo = key_of_uid(r->uid_lo);
                *hi = key_of_uid(r->uid_hi);
                return;
        }
        *lo = (key) {};
        memcpy(lo->b, r->src.bytes, t->addr_bits / 8);
        *hi = key_cut(lo, r->src_len, true);
        *lo = key_cut(lo, r->src_len, false);
        if (r->src_len == t->addr_bits && r->sport_hi) {
                *lo = key_of_source(t, lo->b, r->sport_lo);
                *hi = key_of_source(t, lo->b, r->sport_hi);
        }
}

static uint32_t pref_of(const tree *t, uint16_t id, unsigned slot)
{
        return id == TOP ? t->top + slot : t->base + 3 * (uint32_t) id + slot;
}

static policy_rule rule_entry(const tree *t, const entry *e)
{
        policy_rule r = rule_keys(t, pref_of(t, e->node, e->slot), &e->lo, &e->hi, e->node == TOP);

        r.action = POLICY_RULE_TABLE;
        r.table = e->table;
        return r;
}

static policy_rule rule_goto(const tree *t, uint16_t id)
{
        const node *x = &t->nodes[id];
        policy_rule r = rule_keys(t, pref_of(t, x->parent, 1), &x->lo, &x->hi, x->parent == TOP);

        r.action = POLICY_RULE_GOTO;
        /* Its first pref with a rule: the kernel skips a goto to an empty one. */
        r.target = pref_of(t, id, x->entries ? 0 : 1);
        return r;
}

static policy_rule rule_main(int family, uint32_t pref)
{
        return (policy_rule) { .family = family, .pref = pref, .action = POLICY_RULE_TABLE,
                               .table = POLICY_RULES_TABLE_MAIN };
}

static int push(policy_rules *o, const policy_rule *r)
{
        if (GROW(o->v, o->cap, o->n + 1, 64) < 0)
                return -ENOMEM;
        o->v[o->n++] = *r;
        return 0;
}

static int tree_emit(tree *t, policy_rules *o)
{
        int r = 0;

        /* Which nodes have entries of their own: where their gotos land. */
        for (uint16_t id = 0; id < TREE_NODES; id++)
                t->nodes[id].entries = false;
        for (size_t i = 0; i < t->n; i++)
                if (t->e[i].node != TOP && t->e[i].slot == 0)
                        t->nodes[t->e[i].node].entries = true;
        for (size_t i = 0; i < t->n; i++) {
                policy_rule x = rule_entry(t, &t->e[i]);

                r = r ? r : push(o, &x);
        }
        for (uint16_t id = 0; id < TREE_NODES; id++)
                if (t->nodes[id].used) {
                        policy_rule g = rule_goto(t, id), m = rule_main(t->family, pref_of(t, id, 2));

                        r = r ? r : push(o, &g);
                        r = r ? r : push(o, &m);
                }
        return r;
}

/* ---- a trie from nothing ---------------------------------------------------------- */

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

/* How many keys a subtree may have and still be their rules in its
 * parent's tests, with no node of its own. IPv6: eight, as every IPv6 rule
 * added or deleted makes the kernel walk every IPv6 table (it renews their
 * serial numbers), so fewer rules are worth a few more tested per lookup. */
static size_t inline_keys(const tree *t)
{
        return t->family == AF_INET6 ? 8 : 1;
}

static unsigned level_first(unsigned d)
{
        unsigned id = 0;

        for (unsigned k = 0; k < d; k++)
                id += LEVEL_IDS(k);
        return id;
}

static uint16_t heap_id(unsigned d, unsigned h)
{
        return (uint16_t) (level_first(d) + BAND(d) + h);
}

static bool in_band(unsigned id)
{
        for (unsigned d = 0, first = 0; d <= TREE_LEVELS; first += LEVEL_IDS(d), d++)
                if (id < first + LEVEL_IDS(d))
                        return id < first + BAND(d);
        return false;
}

static bool id_free(const tree *t, unsigned id)
{
        return !t->nodes[id].used && !t->busy[id];
}

/* For a subtree of new keys: the first free id past lo outside the bands. */
static uint16_t node_free(const tree *t, unsigned lo)
{
        for (unsigned id = lo; id < TREE_NODES; id++)
                if (id_free(t, id) && !in_band(id))
                        return (uint16_t) id;
        return NONE;
}

/* For a node between two: the middle of the longest run of free ids in
 * lo..hi-1, so that there is room on both sides for the next. */
static uint16_t node_between(const tree *t, unsigned lo, unsigned hi)
{
        unsigned best = 0, best_len = 0;

        for (unsigned id = lo; id < hi;) {
                unsigned run = id;

                while (run < hi && id_free(t, run))
                        run++;
                if (run - id > best_len) {
                        best = id;
                        best_len = run - id;
                }
                id = run + 1;
        }
        return best_len ? (uint16_t) (best + best_len / 2) : NONE;
}

/* e[0..n) below parent, at depth d: a few keys are rules in the parent's
 * tests; more make a node, split where they first differ, those straddling
 * that bit (at the last level: all) its entries. The node is at heap
 * position h of level d, its children likewise; or, with h NONE, at the
 * first free id past its parent, its children likewise. Returns false when
 * no id is free. */
static bool trie_grow(tree *t, uint16_t parent, unsigned h, unsigned d, entry *e, size_t n)
{
        bool heap = h != NONE;
        uint16_t id;
        unsigned bit;
        size_t nl = 0, no = n;
        node *x;

        if (n <= inline_keys(t)) {
                for (size_t k = 0; k < n; k++) {
                        e[k].node = parent;
                        e[k].slot = 1;
                }
                return true;
        }
        id = heap ? heap_id(d, h) : node_free(t, parent == TOP ? 0 : parent + 1u);
        if (id == NONE)
                return false;
        x = &t->nodes[id];
        bit = key_common(&e[0].lo, &e[n - 1].hi, t->bits);
        *x = (node) { .used = true, .parent = parent, .lo = key_cut(&e[0].lo, bit, false),
                      .hi = key_cut(&e[0].lo, bit, true) };
        if (d < TREE_LEVELS)
                split(bit, e, n, &nl, &no);
        for (size_t k = nl; k < nl + no; k++) {
                e[k].node = id;
                e[k].slot = 0;
        }
        unsigned left = heap ? 2 * h : NONE, right = heap ? 2 * h + 1 : NONE;

        return (!nl || trie_grow(t, id, left, d + 1, e, nl)) &&
               (n - nl - no == 0 || trie_grow(t, id, right, d + 1, e + nl + no, n - nl - no));
}

/* ---- a change in the kernel's trie ------------------------------------------------ */

static int rule_qcmp(const void *x, const void *y)
{
        return policy_rule_cmp(x, y);
}

static bool have_rule(const policy_rules *have, const policy_rule *r)
{
        return have && have->n && bsearch(r, have->v, have->n, sizeof(*r), rule_qcmp);
}

/* The node of the kernel's goto g of this tree (its pref is a tests pref of
 * the tree, its target the first or second pref of a deeper node), or -1. */
static int goto_node(const tree *t, const policy_rule *g, uint16_t *ret_parent)
{
        uint32_t end = t->base + 3 * TREE_NODES;
        uint16_t parent;

        if (g->family != t->family || g->action != POLICY_RULE_GOTO)
                return -1;
        if (g->pref == t->top + 1)
                parent = TOP;
        else if (g->pref >= t->base && g->pref < end && (g->pref - t->base) % 3 == 1)
                parent = (uint16_t) ((g->pref - t->base) / 3);
        else
                return -1;
        if (g->target < t->base || g->target >= end || (g->target - t->base) % 3 == 2)
                return -1;
        *ret_parent = parent;
        return (int) ((g->target - t->base) / 3);
}

/* Take the kernel's trie (have: sorted, ours) and put the keys in it; false
 * when it is not one of ours to keep (inconsistent). */
static bool adopt(tree *t, const policy_rules *have)
{
        memset(t->nodes, 0, sizeof(t->nodes));
        memset(t->busy, 0, sizeof(t->busy));
        for (size_t i = 0; i < have->n; i++) {
                const policy_rule *r = &have->v[i];
                uint16_t parent;
                int id = goto_node(t, r, &parent);
                node *x;

                if (r->family == t->family && r->pref >= t->base && r->pref < t->base + 3 * TREE_NODES)
                        t->busy[(r->pref - t->base) / 3] = true;
                if (id < 0)
                        continue;
                x = &t->nodes[id];
                if (x->used || (parent != TOP && (parent >= id || !t->nodes[parent].used)))
                        return false; /* two gotos to one node, or not down a tree */
                x->used = true;
                x->parent = parent;
                rule_block(t, &have->v[i], &x->lo, &x->hi);
                if (parent != TOP && !within(&x->lo, &x->hi, &t->nodes[parent].lo, &t->nodes[parent].hi))
                        return false;
        }
        /* Each key down the gotos whose block holds it, to the deepest. */
        memset(t->child, 0xff, sizeof(t->child));
        for (uint16_t id = TREE_NODES; id-- > 0;)
                if (t->nodes[id].used) {
                        t->sibling[id] = t->child[t->nodes[id].parent];
                        t->child[t->nodes[id].parent] = id;
                }
        for (size_t i = 0; i < t->n; i++) {
                entry *e = &t->e[i];
                uint16_t at = TOP;
                bool straddles = false;
                policy_rule r;

                for (;;) {
                        uint16_t next = TOP;

                        straddles = false;
                        for (uint16_t id = t->child[at]; id != NONE; id = t->sibling[id]) {
                                const node *x = &t->nodes[id];

                                if (within(&e->lo, &e->hi, &x->lo, &x->hi)) {
                                        if (next != TOP)
                                                return false;
                                        next = id;
                                } else if (overlaps(&e->lo, &e->hi, &x->lo, &x->hi))
                                        straddles = true;
                        }
                        if (next == TOP)
                                break;
                        at = next;
                }
                /* Beside the tests if it was there and may stay, else before them. */
                e->node = at;
                e->slot = 1;
                r = rule_entry(t, e);
                if (straddles || !have_rule(have, &r))
                        e->slot = 0;
        }
        /* Keep the nodes on some key's way. */
        {
                bool live[TREE_NODES + 1] = {};

                for (size_t i = 0; i < t->n; i++) {
                        uint16_t id = t->e[i].node;

                        for (; id != TOP && !live[id]; id = t->nodes[id].parent)
                                live[id] = true;
                }
                for (uint16_t id = 0; id < TREE_NODES; id++)
                        t->nodes[id].used = t->nodes[id].used && live[id];
        }
        return true;
}

/* ---- the plan --------------------------------------------------------------------- */

static int entry_cmp(const void *x, const void *y)
{
        return key_cmp(&((const entry *) x)->lo, &((const entry *) y)->lo);
}

/* Keys a node may hold above where they would be built (added since: they
 * fell outside its children's blocks) before they get a subtree. */
#define ADOPT_MISPLACED_MAX 4

static unsigned node_depth(const tree *t, uint16_t id)
{
        unsigned d = 0;

        for (; id != TOP; id = t->nodes[id].parent)
                d++;
        return d;
}

/* Grow e[0..n) (sorted, a copy) below parent at depth d with free ids, and
 * write where each went back to the tree's entries at[0..n). */
static bool grow_copy(tree *t, uint16_t parent, unsigned d, entry *e, const size_t *at, size_t n)
{
        bool ok = trie_grow(t, parent, NONE, d, e, n);

        for (size_t k = 0; ok && k < n; k++) {
                t->e[at[k]].node = e[k].node;
                t->e[at[k]].slot = e[k].slot;
        }
        return ok;
}

/* Put keys e[0..n) (sorted; all in the half of parent's block that child c
 * is in, none in c's block) above c: a node where they and c's block first
 * differ, between parent and c, with c below it on its side, the keys of
 * the other side in a subtree of their own; again for keys on c's side.
 * Nothing under c moves. False when no id between parent and c is free. */
static bool insert_above(tree *t, uint16_t parent, unsigned d, uint16_t c, entry *e, const size_t *at, size_t n)
{
        node *y = &t->nodes[c];
        const key *lo = key_cmp(&e[0].lo, &y->lo) < 0 ? &e[0].lo : &y->lo;
        const key *hi = key_cmp(&e[n - 1].hi, &y->hi) > 0 ? &e[n - 1].hi : &y->hi;
        unsigned bit = key_common(lo, hi, t->bits);
        uint16_t id = node_between(t, parent == TOP ? 0 : parent + 1u, c);
        bool side = key_bit(&y->lo, bit);
        size_t nl, no;

        if (id == NONE)
                return false;
        t->nodes[id] = (node) { .used = true, .parent = parent, .lo = key_cut(lo, bit, false),
                                .hi = key_cut(lo, bit, true) };
        y->parent = id;
        split(bit, e, n, &nl, &no);
        for (size_t k = nl; k < nl + no; k++) {
                t->e[at[k]].node = id;
                t->e[at[k]].slot = 0;
        }
        if (side)
                return grow_copy(t, id, d + 1, e, at, nl) &&
                       (n - nl - no == 0 || insert_above(t, id, d + 1, c, e + nl + no, at + nl + no, n - nl - no));
        return (!nl || insert_above(t, id, d + 1, c, e, at, nl)) &&
               grow_copy(t, id, d + 1, e + nl + no, at + nl + no, n - nl - no);
}

/* Node x (or the top), adopted, holds more than a few keys that fell
 * outside its children (they were added since it was built): give each
 * half of its block such keys are in a subtree for them, above the child
 * there if there is one, so nothing built moves. False when ids ran out. */
static bool mend_node(tree *t, uint16_t x, entry *tmp, size_t *at)
{
        unsigned d = x == TOP ? 0 : node_depth(t, x) + 1;
        size_t n = 0;

        for (size_t i = 0; i < t->n; i++)
                if (t->e[i].node == x && t->e[i].slot == 0) {
                        tmp[n] = t->e[i];
                        at[n++] = i;
                }
        if (n <= ADOPT_MISPLACED_MAX || (x != TOP && d > TREE_LEVELS))
                return true;
        /* At the top the halves are the whole key space; below, x's. */
        for (unsigned half = 0; half < (x == TOP ? 1u : 2u); half++) {
                size_t first = n, count = 0;
                uint16_t c = NONE;
                unsigned bit = x == TOP ? 0 : key_common(&t->nodes[x].lo, &t->nodes[x].hi, t->bits);

                for (size_t k = 0; k < n; k++)
                        if (x == TOP || (key_bit(&tmp[k].lo, bit) == half && key_bit(&tmp[k].hi, bit) == half)) {
                                first = count++ ? first : k;
                        }
                if (count <= ADOPT_MISPLACED_MAX)
                        continue;
                for (uint16_t id = t->child[x]; id != NONE; id = t->sibling[id])
                        if (x == TOP || key_bit(&t->nodes[id].lo, bit) == half)
                                c = id;
                /* A top with no node: the trie was a few keys, or not ours. */
                if (x == TOP && c == NONE)
                        return false;
                if (c == NONE ? !grow_copy(t, x, d, tmp + first, at + first, count)
                              : !insert_above(t, x, d, c, tmp + first, at + first, count))
                        return false;
        }
        return true;
}

/* Mend every node of the adopted trie, parents first. */
static bool adopt_mend(tree *t)
{
        entry *tmp = malloc(t->n * sizeof(*tmp));
        size_t *at = malloc(t->n * sizeof(*at));
        uint32_t own[TREE_NODES + 1] = {};
        bool ok = tmp && at;

        for (size_t i = 0; i < t->n; i++)
                own[t->e[i].node] += t->e[i].slot == 0;
        if (ok && own[TOP] > ADOPT_MISPLACED_MAX)
                ok = mend_node(t, TOP, tmp, at);
        for (uint16_t x = 0; ok && x < TREE_NODES; x++)
                if (t->nodes[x].used && own[x] > ADOPT_MISPLACED_MAX)
                        ok = mend_node(t, x, tmp, at);
        free(tmp);
        free(at);
        return ok;
}

/* The most rules a lookup can test: each node's rules (entries, tests and
 * exit) summed down the longest way (a parent's id is below its child's). */
static size_t walk_most(const tree *t)
{
        uint32_t c[TREE_NODES + 1] = {}, way[TREE_NODES + 1];
        size_t most;

        for (size_t i = 0; i < t->n; i++)
                c[t->e[i].node]++;
        for (uint16_t id = 0; id < TREE_NODES; id++)
                if (t->nodes[id].used) {
                        c[t->nodes[id].parent]++;
                        c[id]++;
                }
        most = way[TOP] = c[TOP] + 1;
        for (uint16_t id = 0; id < TREE_NODES; id++)
                if (t->nodes[id].used) {
                        way[id] = way[t->nodes[id].parent] + c[id];
                        most = way[id] > most ? way[id] : most;
                }
        return most;
}

static void build(tree *t)
{
        memset(t->nodes, 0, sizeof(t->nodes));
        trie_grow(t, TOP, 0, 0, t->e, t->n); /* heap positions never run out */
}

/* The tree of t->e: in have's trie when that can be kept and is not much
 * worse than one built anew, else anew. */
static int tree_plan(tree *t, const policy_rules *have, policy_rules *o)
{
        size_t most;

        if (!t->n)
                return 0;
        qsort(t->e, t->n, sizeof(*t->e), entry_cmp);
        build(t);
        most = walk_most(t);
        if (have && (!adopt(t, have) || !adopt_mend(t) || walk_most(t) > most + ADOPT_SLACK))
                build(t);
        return tree_emit(t, o);
}

static void tree_reset(tree *t, bool by_uid, int family, entry *e)
{
        t->by_uid = by_uid;
        t->family = family;
        t->addr_bits = uoa_addr_size(family) * 8;
        t->bits = by_uid ? 32 : t->addr_bits + 16;
        t->base = by_uid ? PREF_UID_BASE : PREF_ADDR_BASE;
        t->top = by_uid ? PREF_TOP_UID : PREF_TOP_ADDR;
        t->e = e;
        t->n = 0;
}

static int plan(const policy *p, int family, const policy_rules *have, tree *t, policy_rules *o)
{
        size_t n_slices = policy_slice_count(p), n_addrs = 0, n_uids = 0;
        int r;

        for (size_t i = 0; i < n_slices; i++) {
                const policy_slice *s = policy_slice_at(p, i);

                for (size_t j = 0; s->table && j < s->n_addrs; j++)
                        n_addrs += s->addrs[j].addr.family == family;
        }
        entry *e = calloc(n_addrs > n_slices ? n_addrs : n_slices ? n_slices : 1, sizeof(*e));

        if (!e)
                return -ENOMEM;
        /* By source: every address of the family of every slice with a table. */
        tree_reset(t, false, family, e);
        for (size_t i = 0; i < n_slices; i++) {
                const policy_slice *s = policy_slice_at(p, i);

                for (size_t j = 0; s->table && j < s->n_addrs; j++) {
                        const policy_address *a = &s->addrs[j];

                        if (a->addr.family != family)
                                continue;
                        t->e[t->n++] = (entry) { key_of_source(t, a->addr.bytes, a->shared ? a->port_lo : 0),
                                                 key_of_source(t, a->addr.bytes, a->shared ? a->port_hi : 0xffff),
                                                 s->table, 0, 0 };
                }
        }
        r = tree_plan(t, have, o);
        /* By uid, for lookups without a source: every slice with a table and
         * an address of the family (without one it cannot send from it). */
        n_addrs = t->n;
        tree_reset(t, true, family, e);
        for (size_t i = 0; i < n_slices; i++) {
                const policy_slice *s = policy_slice_at(p, i);

                if (s->table && policy_slice_primary(s, family))
                        t->e[t->n++] = (entry) { key_of_uid(s->uid), key_of_uid(s->uid), s->table, 0, 0 };
        }
        n_uids = t->n;
        r = r ? r : tree_plan(t, have, o);
        if (r == 0 && n_uids && family == AF_INET) {
                /* Root's and other users' unbound lookups: past the source
                 * tree, whose tests may cover 0.0.0.0. */
                policy_rule x = rule_main(family, PREF_TOP_NO_SOURCE);

                x.src.family = family;
                x.src_len = (uint8_t) t->addr_bits;
                r = push(o, &x);
        }
        if (r == 0 && (n_uids || n_addrs)) {
                policy_rule x = rule_main(family, PREF_TOP_EXIT);

                r = push(o, &x);
        }
        free(e);
        return r;
}

int policy_plan_rules(const policy *p, int family, const policy_rules *have, policy_rules *ret)
{
        tree *t = calloc(1, sizeof(*t));
        policy_rules sorted = {};
        size_t n0 = ret->n;
        int r;

        if (!t)
                return -ENOMEM;
        if (have && have->n) {
                sorted.v = malloc(have->n * sizeof(*have->v));
                if (!sorted.v) {
                        free(t);
                        return -ENOMEM;
                }
                memcpy(sorted.v, have->v, have->n * sizeof(*have->v));
                sorted.n = have->n;
                qsort(sorted.v, sorted.n, sizeof(*sorted.v), rule_qcmp);
        }
        r = plan(p, family, have && have->n ? &sorted : NULL, t, ret);
        if (r < 0)
                ret->n = n0;
        free(sorted.v);
        free(t);
        return r;
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
