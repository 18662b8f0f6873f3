/* policy/policy_build.c: validation of assignments against each other (§3:
 * one owner per dedicated address, disjoint shared ranges, one table per
 * slice and per table id) and assembly of the immutable policy object. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/grow.h"
#include "policy/policy_internal.h"

struct policy_builder {
        policy *p;                /* assigns, addrs and addr_index grow here */
        size_t cap_assigns;
        pindex key_index;         /* assignment identity -> p->assigns[] */
        pindex table_index;       /* table id -> p->assigns[] */
        const policy_source *srcs; /* names of the texts, for line_ref() */
        size_t n_srcs;
        uid_t *uids;              /* the slices seen so far, unsorted */
        size_t n_uids, cap_uids;
        pindex uid_index;         /* uid -> uids[] */
};

/* ---- assignment identity ------------------------------------------------------------ */

static uint64_t str_hash(const char *s)
{
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

        for (; *s; s++)
                h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
        return h;
}

uint64_t policy_assign_key_hash(const policy_assign *a)
{
        uint64_t h = policy_uid_hash(a->uid) ^ ((uint64_t)a->kind << 56);

        if (a->kind == ASSIGN_ADDRESS)
                h ^= uoa_addr_hash(&a->addr.addr);
        else if (a->kind == ASSIGN_INTERFACE)
                h ^= str_hash(a->ifname);
        return policy_uid_hash((uid_t)(h >> 32)) ^ h;
}

bool policy_assign_same_key(const policy_assign *a, const policy_assign *b)
{
        if (a->uid != b->uid || a->kind != b->kind)
                return false;
        if (a->kind == ASSIGN_ADDRESS)
                return uoa_addr_equal(&a->addr.addr, &b->addr.addr);
        if (a->kind == ASSIGN_INTERFACE)
                return strncmp(a->ifname, b->ifname, POLICY_IFNAME_MAX) == 0;
        return true;
}

bool policy_assign_equal(const policy_assign *a, const policy_assign *b)
{
        if (!policy_assign_same_key(a, b))
                return false;
        if (a->kind == ASSIGN_ADDRESS)
                return a->addr.shared == b->addr.shared &&
                       (!a->addr.shared ||
                        (a->addr.port_lo == b->addr.port_lo && a->addr.port_hi == b->addr.port_hi));
        if (a->kind == ASSIGN_TABLE)
                return a->table == b->table;
        if (a->kind == ASSIGN_EGRESS || a->kind == ASSIGN_INGRESS)
                return a->rate == b->rate;
        return true;
}

/* ---- builder ---------------------------------------------------------------------------- */

policy_builder *policy_builder_new(void)
{
        policy_builder *b = calloc(1, sizeof(*b));

        if (!b)
                return NULL;
        b->p = policy_new_empty();
        if (!b->p) {
                free(b);
                return NULL;
        }
        return b;
}

void policy_builder_sources(policy_builder *b, const policy_source *srcs, size_t n)
{
        b->srcs = srcs;
        b->n_srcs = n;
}

void policy_builder_free(policy_builder *b)
{
        if (!b)
                return;
        policy_free(b->p);
        pindex_done(&b->key_index);
        pindex_done(&b->table_index);
        pindex_done(&b->uid_index);
        free(b->uids);
        free(b);
}

typedef struct builder_key {
        const policy_builder *b;
        const policy_assign *a;
} builder_key;

static bool key_eq(const void *ctx, uint32_t idx)
{
        const builder_key *k = ctx;

        return policy_assign_same_key(&k->b->p->assigns[idx], k->a);
}

static bool table_eq(const void *ctx, uint32_t idx)
{
        const builder_key *k = ctx;

        return k->b->p->assigns[idx].table == k->a->table;
}

static bool builder_uid_eq(const void *ctx, uint32_t idx)
{
        const builder_key *k = ctx;

        return k->b->uids[idx] == k->a->uid;
}

/* Where an earlier assignment was made, seen from a: " (line N)" in a's
 * text, " (FILE:N)" in another, "" when inherited by an edit. */
static const char *line_ref(const policy_builder *b, const policy_assign *a, unsigned src, unsigned line,
                            char *buf, size_t len)
{
        if (line == 0)
                snprintf(buf, len, "%s", "");
        else if (src == a->src || src >= b->n_srcs)
                snprintf(buf, len, " (line %u)", line);
        else
                snprintf(buf, len, " (%s:%u)", b->srcs[src].name, line);
        return buf;
}

static int duplicate_error(const policy_builder *b, const policy_assign *a, const policy_assign *prev,
                           char *reason, size_t len)
{
        char abuf[UOA_ADDR_STRLEN], lbuf[POLICY_LINE_MAX];
        const char *at = line_ref(b, a, prev->src, prev->line, lbuf, sizeof(lbuf));

        switch (a->kind) {
        case ASSIGN_ADDRESS:
                snprintf(reason, len, "address %s is already assigned to uid %u%s",
                         uoa_addr_format(&a->addr.addr, abuf, sizeof(abuf)), (unsigned)a->uid, at);
                break;
        case ASSIGN_TABLE:
                snprintf(reason, len, "uid %u already has table %u%s", (unsigned)a->uid,
                         (unsigned)prev->table, at);
                break;
        case ASSIGN_INTERFACE:
                snprintf(reason, len, "uid %u already has interface %s%s", (unsigned)a->uid,
                         prev->ifname, at);
                break;
        case ASSIGN_EGRESS:
        case ASSIGN_INGRESS: {
                char rbuf[POLICY_RATE_STRLEN];

                snprintf(reason, len, "uid %u already has %s %s%s", (unsigned)a->uid,
                         a->kind == ASSIGN_EGRESS ? "egress" : "ingress",
                         policy_rate_format(prev->rate, rbuf, sizeof(rbuf)), at);
                break;
        }
        default:
                snprintf(reason, len, "uid %u already has raw%s", (unsigned)a->uid, at);
                break;
        }
        return -EINVAL;
}

static int check_address(const policy_builder *b, const policy_assign *a, char *reason, size_t len)
{
        char abuf[UOA_ADDR_STRLEN], lbuf[POLICY_LINE_MAX];
        const addr_entry *e;
        const port_range *r;
        uint32_t i;

        i = policy_addr_find(b->p, &a->addr.addr);
        if (i == PINDEX_NONE)
                return 0;
        e = &b->p->addrs[i];
        uoa_addr_format(&e->addr, abuf, sizeof(abuf));
        if (!e->shared) {
                snprintf(reason, len, "address %s is already assigned to uid %u%s", abuf,
                         (unsigned)e->uid, line_ref(b, a, e->src, e->line, lbuf, sizeof(lbuf)));
                return -EINVAL;
        }
        if (!a->addr.shared) {
                r = &e->ranges[0];
                snprintf(reason, len, "address %s is already shared (uid %u has ports %u-%u)%s",
                         abuf, (unsigned)r->uid, r->lo, r->hi, line_ref(b, a, r->src, r->line, lbuf, sizeof(lbuf)));
                return -EINVAL;
        }
        i = addr_entry_overlap(e, a->addr.port_lo, a->addr.port_hi);
        if (i == PINDEX_NONE)
                return 0;
        r = &e->ranges[i];
        snprintf(reason, len, "port range %u-%u on %s overlaps uid %u's %u-%u%s",
                 a->addr.port_lo, a->addr.port_hi, abuf, (unsigned)r->uid, r->lo, r->hi,
                 line_ref(b, a, r->src, r->line, lbuf, sizeof(lbuf)));
        return -EINVAL;
}

static int check_table(const policy_builder *b, const policy_assign *a, char *reason, size_t len)
{
        builder_key k = { b, a };
        const policy_assign *prev;
        char lbuf[POLICY_LINE_MAX];
        uint32_t i;

        i = pindex_find(&b->table_index, policy_uid_hash(a->table), table_eq, &k);
        if (i == PINDEX_NONE)
                return 0;
        prev = &b->p->assigns[i];
        snprintf(reason, len, "table %u is already uid %u's%s", (unsigned)a->table,
                 (unsigned)prev->uid, line_ref(b, a, prev->src, prev->line, lbuf, sizeof(lbuf)));
        return -EINVAL;
}

static int commit_address(policy_builder *b, const policy_assign *a)
{
        policy *p = b->p;
        uint32_t i = policy_addr_find(p, &a->addr.addr);
        addr_entry *e;
        int r;

        if (i == PINDEX_NONE) {
                if (GROW(p->addrs, p->cap_addrs, p->n_addrs + 1, 16) < 0)
                        return -ENOMEM;
                i = (uint32_t)p->n_addrs;
                p->addrs[i] = (addr_entry){ .addr = a->addr.addr, .shared = a->addr.shared,
                                            .uid = a->uid, .src = a->src, .line = a->line };
                p->n_addrs++;
                r = pindex_insert(&p->addr_index, uoa_addr_hash(&a->addr.addr), i);
                if (r < 0)
                        return r;
        }
        e = &p->addrs[i];
        if (!e->shared)
                return 0;
        return addr_entry_add_range(e, &(port_range){ .lo = a->addr.port_lo, .hi = a->addr.port_hi,
                                                      .uid = a->uid, .src = a->src, .line = a->line });
}

static int commit_slice(policy_builder *b, const policy_assign *a)
{
        builder_key k = { b, a };
        uint64_t h = policy_uid_hash(a->uid);

        /* A slice's lines are usually together: the last uid needs no lookup. */
        if (b->n_uids > 0 && b->uids[b->n_uids - 1] == a->uid)
                return 0;
        if (pindex_find(&b->uid_index, h, builder_uid_eq, &k) != PINDEX_NONE)
                return 0;
        if (GROW(b->uids, b->cap_uids, b->n_uids + 1, 16) < 0)
                return -ENOMEM;
        b->uids[b->n_uids] = a->uid;
        return pindex_insert(&b->uid_index, h, (uint32_t)b->n_uids++);
}

static int commit(policy_builder *b, const policy_assign *a)
{
        policy *p = b->p;
        uint32_t i;
        int r;

        if (p->n_assigns >= UINT32_MAX - 2)
                return -ENOMEM;
        if (GROW(p->assigns, b->cap_assigns, p->n_assigns + 1, 16) < 0)
                return -ENOMEM;
        i = (uint32_t)p->n_assigns;
        p->assigns[p->n_assigns++] = *a;
        r = pindex_insert(&b->key_index, policy_assign_key_hash(a), i);
        if (r >= 0 && a->kind == ASSIGN_TABLE)
                r = pindex_insert(&b->table_index, policy_uid_hash(a->table), i);
        if (r >= 0 && a->kind == ASSIGN_ADDRESS)
                r = commit_address(b, a);
        if (r >= 0)
                r = commit_slice(b, a);
        return r;
}

int policy_builder_add(policy_builder *b, const policy_assign *a, char *reason, size_t len)
{
        builder_key k = { b, a };
        uint32_t prev;
        int r = 0;

        if (!b || !a || (unsigned)a->kind >= _ASSIGN_KIND_MAX)
                return -EINVAL;
        prev = pindex_find(&b->key_index, policy_assign_key_hash(a), key_eq, &k);
        if (prev != PINDEX_NONE)
                return duplicate_error(b, a, &b->p->assigns[prev], reason, len);
        if (a->kind == ASSIGN_ADDRESS)
                r = check_address(b, a, reason, len);
        else if (a->kind == ASSIGN_TABLE)
                r = check_table(b, a, reason, len);
        if (r < 0)
                return r;
        r = commit(b, a);
        if (r < 0)
                snprintf(reason, len, "%s", r == -ENOMEM ? "out of memory" : "too many assignments");
        return r;
}

/* ---- assembly ------------------------------------------------------------------------ */

static int uid_cmp(const void *x, const void *y)
{
        uid_t a = *(const uid_t *)x, b = *(const uid_t *)y;

        return (a > b) - (a < b);
}

/* Slices sorted by uid, with their uid index; counts only, no lists yet. */
/* The slice of uid: the one before again when uid is the same (a slice's
 * assignments are usually together), else looked up. */
static policy_slice *slice_of(policy *p, uid_t uid, policy_slice **last)
{
        if (!*last || (*last)->uid != uid)
                *last = (policy_slice *)policy_slice_find(p, uid);
        return *last;
}

static int finish_slices(policy_builder *b)
{
        policy_slice *last = NULL;
        policy *p = b->p;

        if (b->n_uids == 0)
                return 0;
        qsort(b->uids, b->n_uids, sizeof(*b->uids), uid_cmp);
        p->slices = calloc(b->n_uids, sizeof(*p->slices));
        if (!p->slices)
                return -ENOMEM;
        p->n_slices = b->n_uids;
        for (size_t i = 0; i < p->n_slices; i++) {
                int r;

                p->slices[i].uid = b->uids[i];
                r = pindex_insert(&p->uid_index, policy_uid_hash(b->uids[i]), (uint32_t)i);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < p->n_assigns; i++) {
                const policy_assign *a = &p->assigns[i];
                policy_slice *s = slice_of(p, a->uid, &last);

                if (a->kind == ASSIGN_ADDRESS)
                        s->n_addrs++;
                else if (a->kind == ASSIGN_INTERFACE)
                        s->n_ifnames++;
                else if (a->kind == ASSIGN_TABLE)
                        s->table = a->table;
                else if (a->kind == ASSIGN_EGRESS)
                        s->egress = a->rate;
                else if (a->kind == ASSIGN_INGRESS)
                        s->ingress = a->rate;
                else
                        s->raw = true;
        }
        return 0;
}

/* Each slice's address and interface lists, in assignment order. */
static int finish_lists(policy *p)
{
        size_t n_addrs = 0, n_ifnames = 0;
        policy_slice *last = NULL;

        for (size_t i = 0; i < p->n_slices; i++) {
                n_addrs += p->slices[i].n_addrs;
                n_ifnames += p->slices[i].n_ifnames;
        }
        if (n_addrs > 0 && !(p->addr_pool = calloc(n_addrs, sizeof(*p->addr_pool))))
                return -ENOMEM;
        if (n_ifnames > 0 && !(p->ifname_pool = calloc(n_ifnames, sizeof(*p->ifname_pool))))
                return -ENOMEM;
        n_addrs = n_ifnames = 0;
        for (size_t i = 0; i < p->n_slices; i++) {
                policy_slice *s = &p->slices[i];

                s->addrs = s->n_addrs ? p->addr_pool + n_addrs : NULL;
                s->ifnames = s->n_ifnames ? p->ifname_pool + n_ifnames : NULL;
                n_addrs += s->n_addrs;
                n_ifnames += s->n_ifnames;
                s->n_addrs = s->n_ifnames = 0;
        }
        for (size_t i = 0; i < p->n_assigns; i++) {
                const policy_assign *a = &p->assigns[i];
                policy_slice *s = slice_of(p, a->uid, &last);

                if (a->kind == ASSIGN_ADDRESS)
                        s->addrs[s->n_addrs++] = a->addr;
                else if (a->kind == ASSIGN_INTERFACE)
                        memcpy(s->ifnames[s->n_ifnames++], a->ifname, POLICY_IFNAME_MAX);
        }
        return 0;
}

int policy_builder_finish(policy_builder *b, policy **ret)
{
        int r;

        if (!b)
                return -EINVAL;
        r = finish_slices(b);
        if (r >= 0)
                r = finish_lists(b->p);
        if (r >= 0)
                *ret = TAKE_PTR(b->p);
        policy_builder_free(b);
        return r;
}

/* ---- lifetime ------------------------------------------------------------------------------ */

policy *policy_new_empty(void)
{
        return calloc(1, sizeof(policy));
}

void policy_free(policy *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_addrs; i++)
                addr_entry_done(&p->addrs[i]);
        free(p->addrs);
        free(p->assigns);
        free(p->slices);
        free(p->addr_pool);
        free(p->ifname_pool);
        pindex_done(&p->uid_index);
        pindex_done(&p->addr_index);
        free(p);
}
