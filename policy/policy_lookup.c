/* policy/policy_lookup.c: the O(1) lookups of a built policy (uid -> slice,
 * address -> owner, shared address + port -> owner) and the hash and port
 * indexes behind them. */
#include <errno.h>
#include <string.h>

#include "common/grow.h"
#include "policy/policy_internal.h"

#define PINDEX_MIN_CAP 16u
#define PORTIDX_UNIFORM 0x80000000u
#define PORTIDX_EMPTY_PAGE (PORTIDX_UNIFORM | PORTIDX_NONE)

/* ---- hash index ------------------------------------------------------------ */

uint32_t pindex_find(const pindex *t, uint64_t hash, pindex_eq eq, const void *ctx)
{
        uint32_t h = (uint32_t)hash;

        if (!t->slots)
                return PINDEX_NONE;
        for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
                const pindex_slot *s = &t->slots[i];

                if (s->idx1 == 0)
                        return PINDEX_NONE;
                if (s->hash == h && eq(ctx, s->idx1 - 1))
                        return s->idx1 - 1;
        }
}

static void pindex_place(pindex_slot *slots, size_t mask, pindex_slot s)
{
        size_t i = s.hash & mask;

        while (slots[i].idx1 != 0)
                i = (i + 1) & mask;
        slots[i] = s;
}

static int pindex_grow(pindex *t)
{
        size_t cap = t->slots ? (t->mask + 1) * 2 : PINDEX_MIN_CAP;
        pindex_slot *slots;

        /* Positions come from the 32-bit stored hash. */
        if (cap > ((size_t)1 << 32) || cap > SIZE_MAX / sizeof(*slots))
                return -ENOMEM;
        slots = calloc(cap, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        if (t->slots)
                for (size_t i = 0; i <= t->mask; i++)
                        if (t->slots[i].idx1 != 0)
                                pindex_place(slots, cap - 1, t->slots[i]);
        free(t->slots);
        t->slots = slots;
        t->mask = cap - 1;
        return 0;
}

int pindex_insert(pindex *t, uint64_t hash, uint32_t idx)
{
        /* Keep the load factor at or below 1/2: probes stay short. */
        if (!t->slots || (t->n + 1) * 2 > t->mask + 1) {
                int r = pindex_grow(t);

                if (r < 0)
                        return r;
        }
        if (idx >= UINT32_MAX - 1)
                return -ENOMEM;
        pindex_place(t->slots, t->mask, (pindex_slot){ .idx1 = idx + 1, .hash = (uint32_t)hash });
        t->n++;
        return 0;
}

void pindex_done(pindex *t)
{
        free(t->slots);
        *t = (pindex){};
}

/* ---- port index of a shared address ------------------------------------------- */

static uint32_t port_index_get(const port_index *x, uint16_t port)
{
        uint32_t t = x->top[port >> 8];

        if (t & PORTIDX_UNIFORM)
                return t & 0xffff;
        return x->leaves[t][port & 0xff];
}

static int port_index_leaf(port_index *x, unsigned page, uint16_t **ret)
{
        uint32_t t = x->top[page];

        if (!(t & PORTIDX_UNIFORM)) {
                *ret = x->leaves[t];
                return 0;
        }
        if (GROW(x->leaves, x->cap_leaves, x->n_leaves + 1, 4) < 0)
                return -ENOMEM;
        for (unsigned i = 0; i < 256; i++)
                x->leaves[x->n_leaves][i] = (uint16_t)(t & 0xffff);
        x->top[page] = (uint32_t)x->n_leaves;
        *ret = x->leaves[x->n_leaves++];
        return 0;
}

/* Mark lo..hi as range idx; the caller checked they are free. */
static int port_index_set(port_index *x, uint16_t lo, uint16_t hi, uint16_t idx)
{
        for (unsigned page = lo >> 8; page <= (unsigned)hi >> 8; page++) {
                unsigned plo = page << 8, phi = plo | 0xff;
                uint16_t *leaf;
                int r;

                if (lo <= plo && hi >= phi) {
                        x->top[page] = PORTIDX_UNIFORM | idx;
                        continue;
                }
                r = port_index_leaf(x, page, &leaf);
                if (r < 0)
                        return r;
                for (unsigned p = plo > lo ? plo : lo; p <= phi && p <= hi; p++)
                        leaf[p & 0xff] = idx;
        }
        return 0;
}

static uint32_t port_index_overlap(const port_index *x, uint16_t lo, uint16_t hi)
{
        for (unsigned page = lo >> 8; page <= (unsigned)hi >> 8; page++) {
                unsigned plo = page << 8, phi = plo | 0xff;
                uint32_t t = x->top[page];

                if (t & PORTIDX_UNIFORM) {
                        if ((t & 0xffff) != PORTIDX_NONE)
                                return t & 0xffff;
                        continue;
                }
                for (unsigned p = plo > lo ? plo : lo; p <= phi && p <= hi; p++)
                        if (x->leaves[t][p & 0xff] != PORTIDX_NONE)
                                return x->leaves[t][p & 0xff];
        }
        return PINDEX_NONE;
}

static void port_index_free(port_index *x)
{
        if (!x)
                return;
        free(x->leaves);
        free(x);
}

static int addr_entry_index(addr_entry *e)
{
        port_index *x = calloc(1, sizeof(*x));

        if (!x)
                return -ENOMEM;
        for (unsigned i = 0; i < ELEMENTSOF(x->top); i++)
                x->top[i] = PORTIDX_EMPTY_PAGE;
        for (size_t i = 0; i < e->n_ranges; i++) {
                int r = port_index_set(x, e->ranges[i].lo, e->ranges[i].hi, (uint16_t)i);

                if (r < 0) {
                        port_index_free(x);
                        return r;
                }
        }
        e->ports = x;
        return 0;
}

uint32_t addr_entry_range_at(const addr_entry *e, uint16_t port)
{
        if (e->ports) {
                uint32_t i = port_index_get(e->ports, port);

                return i == PORTIDX_NONE ? PINDEX_NONE : i;
        }
        for (size_t i = 0; i < e->n_ranges; i++)
                if (e->ranges[i].lo <= port && port <= e->ranges[i].hi)
                        return (uint32_t)i;
        return PINDEX_NONE;
}

uint32_t addr_entry_overlap(const addr_entry *e, uint16_t lo, uint16_t hi)
{
        uint32_t best = PINDEX_NONE;

        if (e->ports)
                return port_index_overlap(e->ports, lo, hi);
        for (size_t i = 0; i < e->n_ranges; i++) {
                const port_range *r = &e->ranges[i];

                if (r->lo <= hi && lo <= r->hi && (best == PINDEX_NONE || r->lo < e->ranges[best].lo))
                        best = (uint32_t)i;
        }
        return best;
}

int addr_entry_add_range(addr_entry *e, const port_range *range)
{
        /* Disjoint ranges in 1..65535: at most 65535 of them, so a range
         * number always fits the index's uint16_t below PORTIDX_NONE. */
        if (e->n_ranges >= PORTIDX_NONE)
                return -EINVAL;
        if (GROW(e->ranges, e->cap_ranges, e->n_ranges + 1, 2) < 0)
                return -ENOMEM;
        e->ranges[e->n_ranges++] = *range;
        if (e->ports)
                return port_index_set(e->ports, range->lo, range->hi, (uint16_t)(e->n_ranges - 1));
        if (e->n_ranges > PORTIDX_LINEAR_MAX)
                return addr_entry_index(e);
        return 0;
}

void addr_entry_done(addr_entry *e)
{
        free(e->ranges);
        port_index_free(e->ports);
        e->ranges = NULL;
        e->ports = NULL;
        e->n_ranges = e->cap_ranges = 0;
}

/* ---- policy lookups --------------------------------------------------------------- */

uint64_t policy_uid_hash(uid_t uid)
{
        uint64_t x = (uint64_t)uid + 0x9e3779b97f4a7c15ULL;

        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}

uoa_addr policy_addr_unmap(const uoa_addr *a)
{
        uoa_addr u = *a;

        if (a->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->v6)) {
                u = (uoa_addr){ .family = AF_INET };
                memcpy(u.bytes, a->bytes + 12, 4);
        }
        return u;
}

typedef struct addr_key {
        const policy *p;
        const uoa_addr *a;
} addr_key;

static bool addr_eq(const void *ctx, uint32_t idx)
{
        const addr_key *k = ctx;

        return uoa_addr_equal(&k->p->addrs[idx].addr, k->a);
}

uint32_t policy_addr_find(const policy *p, const uoa_addr *a)
{
        addr_key k = { p, a };

        return pindex_find(&p->addr_index, uoa_addr_hash(a), addr_eq, &k);
}

typedef struct uid_key {
        const policy *p;
        uid_t uid;
} uid_key;

static bool uid_eq(const void *ctx, uint32_t idx)
{
        const uid_key *k = ctx;

        return k->p->slices[idx].uid == k->uid;
}

size_t policy_slice_count(const policy *p)
{
        return p ? p->n_slices : 0;
}

const policy_slice *policy_slice_at(const policy *p, size_t i)
{
        return p && i < p->n_slices ? &p->slices[i] : NULL;
}

const policy_slice *policy_slice_find(const policy *p, uid_t uid)
{
        uid_key k = { p, uid };
        uint32_t i;

        if (!p)
                return NULL;
        i = pindex_find(&p->uid_index, policy_uid_hash(uid), uid_eq, &k);
        return i == PINDEX_NONE ? NULL : &p->slices[i];
}

const policy_slice *policy_slice_seek(const policy *p, size_t *cursor, uid_t uid)
{
        if (!p)
                return NULL;
        while (*cursor < p->n_slices && p->slices[*cursor].uid < uid)
                (*cursor)++;
        return *cursor < p->n_slices && p->slices[*cursor].uid == uid ? &p->slices[*cursor] : NULL;
}

const policy_slice *policy_address_owner(const policy *p, const uoa_addr *addr,
                                         uint16_t port, bool *ret_shared)
{
        const addr_entry *e;
        uoa_addr a;
        uint32_t i;

        if (ret_shared)
                *ret_shared = false;
        if (!p || !addr || uoa_addr_size(addr->family) == 0)
                return NULL;
        a = policy_addr_unmap(addr);
        i = policy_addr_find(p, &a);
        if (i == PINDEX_NONE)
                return NULL;
        e = &p->addrs[i];
        if (ret_shared)
                *ret_shared = e->shared;
        if (!e->shared)
                return policy_slice_find(p, e->uid);
        i = addr_entry_range_at(e, port);
        return i == PINDEX_NONE ? NULL : policy_slice_find(p, e->ranges[i].uid);
}

/* A linear scan: slices list a handful of addresses, and a policy_slice may
 * be a caller's own copy with no policy behind it. */
const policy_address *policy_slice_address(const policy_slice *s, const uoa_addr *addr)
{
        uoa_addr a;

        if (!s || !addr || uoa_addr_size(addr->family) == 0)
                return NULL;
        a = policy_addr_unmap(addr);
        for (size_t i = 0; i < s->n_addrs; i++)
                if (uoa_addr_equal(&s->addrs[i].addr, &a))
                        return &s->addrs[i];
        return NULL;
}

const policy_address *policy_slice_primary(const policy_slice *s, int family)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_addrs; i++)
                if (s->addrs[i].addr.family == family)
                        return &s->addrs[i];
        return NULL;
}

bool policy_slice_may_use_interface(const policy_slice *s, const char *ifname)
{
        if (!s)
                return false;
        if (s->n_ifnames == 0)
                return true;
        if (!ifname)
                return false;
        for (size_t i = 0; i < s->n_ifnames; i++)
                if (strncmp(s->ifnames[i], ifname, POLICY_IFNAME_MAX) == 0)
                        return true;
        return false;
}

bool policy_slice_addresses_equal(const policy_slice *a, const policy_slice *b)
{
        if (a->n_addrs != b->n_addrs)
                return false;
        for (size_t i = 0; i < a->n_addrs; i++) {
                const policy_address *x = &a->addrs[i], *y = &b->addrs[i];

                if (!uoa_addr_equal(&x->addr, &y->addr) || x->shared != y->shared || x->port_lo != y->port_lo ||
                    x->port_hi != y->port_hi)
                        return false;
        }
        return true;
}
