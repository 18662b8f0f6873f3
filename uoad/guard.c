/* uoad/guard.c: the kernel guard, uoad's second line of defence,
 * programmed from the policy: the nftables egress table (policy_plan_nft),
 * `ip rule`s that route a slice's packets by its table (uidrange, and from
 * its addresses), and the slice tables themselves. Everything uoad creates
 * carries GUARD_PROTO, so reapplying is a diff against our own objects only
 * and removal leaves no trace and touches nothing else.
 *
 * libnftables, not `nft` in a shell: one in-process transaction per apply,
 * no PATH or fork in a root daemon, errors as text we can log. */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/grow.h"
#include "common/macro.h"
#include "policy/policy_rules.h"
#include "uoad/guard.h"
#include "uoad/rtnl.h"
#include "uoad/uoad.h"

#define GUARD_PROTO POLICY_GUARD_PROTO /* rtm_protocol / FRA_PROTOCOL of uoad's objects */
#define THROW_METRIC POLICY_GUARD_METRIC

typedef struct grules {
        policy_rules l;
        bool failed;
} grules;

static void grules_add(grules *g, const policy_rule *r)
{
        policy_rules *l = &g->l;

        if (GROW(l->v, l->cap, l->n + 1, 64) < 0)
                g->failed = true;
        else
                l->v[l->n++] = *r;
}

/* Our rules as the last rules_sync() left them: a reload diffs against
 * this instead of dumping tens of thousands of rules. Dropped on any error
 * (the next sync dumps), and at removal. A cache, hence a file-level static. */
static grules rules_cache;
static bool rules_cache_valid;

static void rules_cache_drop(void)
{
        free(rules_cache.l.v);
        rules_cache = (grules) {};
        rules_cache_valid = false;
}

static int grule_cmp(const void *x, const void *y)
{
        return policy_rule_cmp(x, y);
}

static void grules_sort(grules *g)
{
        if (g->l.n)
                qsort(g->l.v, g->l.n, sizeof(*g->l.v), grule_cmp);
}

static int nft_apply(const char *script, char *err, size_t errlen)
{
        struct nft_ctx *ctx;
        int r;

        if (script && !*script)
                return 0; /* nothing changed */
        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx || !script) {
                if (ctx)
                        nft_ctx_free(ctx);
                return -ENOMEM;
        }
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        r = nft_run_cmd_from_buffer(ctx, script);
        if (r != 0)
                snprintf(err, errlen, "nftables: %s", nft_ctx_get_error_buffer(ctx));
        nft_ctx_free(ctx);
        return r != 0 ? -EINVAL : 0;
}

static int rule_attr(const struct nlattr *a, void *data)
{
        const struct nlattr **tb = data;
        unsigned type = mnl_attr_get_type(a);

        if (type <= FRA_MAX)
                tb[type] = a;
        return MNL_CB_OK;
}

/* Collect the kernel's rules that carry our protocol mark. */
static int rule_parse(const struct nlmsghdr *nlh, void *data)
{
        const struct nlattr *tb[FRA_MAX + 1] = {};
        const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
        policy_rule r = {};

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*frh) ||
            mnl_attr_parse(nlh, sizeof(*frh), rule_attr, tb) < 0)
                return MNL_CB_OK;
        if (!tb[FRA_PROTOCOL] || mnl_attr_get_u8(tb[FRA_PROTOCOL]) != GUARD_PROTO)
                return MNL_CB_OK;
        r.family = frh->family;
        r.pref = tb[FRA_PRIORITY] ? mnl_attr_get_u32(tb[FRA_PRIORITY]) : 0;
        /* Anything but our two kinds compares unequal to every planned
         * rule, so it is deleted. */
        r.action = frh->action == FR_ACT_GOTO    ? POLICY_RULE_GOTO
                   : frh->action == FR_ACT_TO_TBL ? POLICY_RULE_TABLE
                                                  : (policy_rule_action) -1;
        r.table = tb[FRA_TABLE] ? mnl_attr_get_u32(tb[FRA_TABLE]) : frh->table;
        r.target = tb[FRA_GOTO] ? mnl_attr_get_u32(tb[FRA_GOTO]) : 0;
        if (tb[FRA_UID_RANGE] && mnl_attr_get_payload_len(tb[FRA_UID_RANGE]) == sizeof(struct fib_rule_uid_range)) {
                const struct fib_rule_uid_range *u = mnl_attr_get_payload(tb[FRA_UID_RANGE]);

                r.has_uid = true;
                r.uid_lo = u->start;
                r.uid_hi = u->end;
        }
        if (tb[FRA_SRC] && mnl_attr_get_payload_len(tb[FRA_SRC]) == uoa_addr_size(frh->family)) {
                r.src.family = frh->family;
                r.src_len = frh->src_len;
                memcpy(r.src.bytes, mnl_attr_get_payload(tb[FRA_SRC]), uoa_addr_size(frh->family));
        }
        if (tb[FRA_SPORT_RANGE] &&
            mnl_attr_get_payload_len(tb[FRA_SPORT_RANGE]) == sizeof(struct fib_rule_port_range)) {
                const struct fib_rule_port_range *pr = mnl_attr_get_payload(tb[FRA_SPORT_RANGE]);

                r.sport_lo = pr->start;
                r.sport_hi = pr->end;
        }
        grules_add(data, &r);
        return MNL_CB_OK;
}

static void rule_queue(rtnl_batch *b, int type, const policy_rule *r)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct fib_rule_hdr *frh;

        nlh->nlmsg_type = (uint16_t) type;
        nlh->nlmsg_flags = type == RTM_NEWRULE ? NLM_F_CREATE : 0; /* not EXCL: the kernel would scan every rule */
        frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
        frh->family = (uint8_t) r->family;
        if (r->action == POLICY_RULE_GOTO) {
                frh->action = FR_ACT_GOTO;
                mnl_attr_put_u32(nlh, FRA_GOTO, r->target);
        } else {
                frh->action = FR_ACT_TO_TBL;
                frh->table = r->table < 256 ? (uint8_t) r->table : RT_TABLE_UNSPEC;
                mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
        }
        mnl_attr_put_u32(nlh, FRA_PRIORITY, r->pref);
        mnl_attr_put_u8(nlh, FRA_PROTOCOL, GUARD_PROTO);
        if (r->has_uid)
                mnl_attr_put(nlh, FRA_UID_RANGE, sizeof(struct fib_rule_uid_range),
                             &(struct fib_rule_uid_range) { .start = r->uid_lo, .end = r->uid_hi });
        if (r->src.family) {
                frh->src_len = r->src_len;
                mnl_attr_put(nlh, FRA_SRC, uoa_addr_size(r->family), r->src.bytes);
        }
        if (r->sport_hi)
                mnl_attr_put(nlh, FRA_SPORT_RANGE, sizeof(struct fib_rule_port_range),
                             &(struct fib_rule_port_range) { .start = r->sport_lo, .end = r->sport_hi });
        rtnl_batch_add(b, nlh);
}

/* Whether rules_sync() adds r last: an IPv6 rule that looks up a slice
 * table. Every IPv6 rule change makes the kernel walk every IPv6 table, and
 * a rule creates the table it names; so the gotos and lookups of main go in
 * while the slice tables do not exist yet. (A goto whose target is not
 * there yet waits, unresolved, skipped by lookups, until it is.) */
static bool rule_late(const policy_rule *r)
{
        return r->family == AF_INET6 && r->action == POLICY_RULE_TABLE && r->table != POLICY_RULES_TABLE_MAIN;
}

/* By table, and in each from the highest pref down. */
static int rule_table_cmp(const void *x, const void *y)
{
        const policy_rule *a = x, *b = y;

        if (a->table != b->table)
                return a->table < b->table ? -1 : 1;
        return a->pref != b->pref ? (a->pref > b->pref ? -1 : 1) : 0;
}

/* Bring our rules to `want`: add what is missing first, then delete what is
 * no longer wanted, so a lookup never finds a slice without its rule in
 * between. Both lists sorted and merged: O(n log n) for tens of thousands of
 * rules, the kernel's changes sent in batches. The kernel keeps a family's
 * rules in one list sorted by pref, walks it from the front to insert and
 * to find a goto's target: adding from the highest pref down puts each new
 * rule at the front, its goto target already there. Deleting any rule
 * while goto rules exist makes it scan the whole list for gotos aimed at
 * it, so stale gotos go first and the rest is deleted without scans. */
static int rules_sync_from(int fd, const policy *p, bool cached)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        rtnl_batch add = { .fd = fd }, del = { .fd = fd };
        grules have = {}, want = {}, late = {};
        const policy_rules *w = &want.l, *h = &have.l;
        size_t i, j;
        int r;

        if (cached) {
                have = rules_cache;
                rules_cache = (grules) {};
                r = 0;
        } else {
                nlh->nlmsg_type = RTM_GETRULE;
                ((struct fib_rule_hdr *) mnl_nlmsg_put_extra_header(nlh, sizeof(struct fib_rule_hdr)))->family =
                        AF_UNSPEC;
                r = rtnl_dump(fd, nlh, rule_parse, &have);
        }
        rules_cache_drop();
        if (r == 0 && have.failed)
                r = -ENOMEM;
        /* The trees of policy/policy_rules.c, changed where they stand. */
        if (r == 0 && p)
                r = policy_plan_rules(p, AF_INET, &have.l, &want.l);
        if (r == 0 && p)
                r = policy_plan_rules(p, AF_INET6, &have.l, &want.l);
        grules_sort(&have);
        grules_sort(&want);
        for (i = w->n, j = h->n; r == 0 && i-- > 0;) {
                int c = -1;

                while (j > 0 && (c = policy_rule_cmp(&h->v[j - 1], &w->v[i])) > 0)
                        j--;
                if (j > 0 && c == 0)
                        continue;
                if (rule_late(&w->v[i]))
                        grules_add(&late, &w->v[i]);
                else
                        rule_queue(&add, RTM_NEWRULE, &w->v[i]);
        }
        if (late.failed)
                r = -ENOMEM;
        /* A table's rules one after the other: the first creates it, the
         * next finds no more tables to walk than it did. */
        if (late.l.n)
                qsort(late.l.v, late.l.n, sizeof(*late.l.v), rule_table_cmp);
        for (i = 0; r == 0 && i < late.l.n; i++)
                rule_queue(&add, RTM_NEWRULE, &late.l.v[i]);
        free(late.l.v);
        r = r < 0 ? r : rtnl_batch_done(&add);
        for (int pass = 0; pass < 2; pass++)
                for (i = 0, j = 0; r == 0 && i < h->n; i++) {
                        int c = 1;

                        if ((h->v[i].action == POLICY_RULE_GOTO) != (pass == 0))
                                continue;
                        while (j < w->n && (c = policy_rule_cmp(&w->v[j], &h->v[i])) < 0)
                                j++;
                        if (j == w->n || c != 0)
                                rule_queue(&del, RTM_DELRULE, &h->v[i]);
                }
        r = r < 0 ? r : rtnl_batch_done(&del);
        free(add.buf);
        free(del.buf);
        free(have.l.v);
        if (r == 0 && !want.failed) {
                rules_cache = want; /* sorted */
                rules_cache_valid = true;
        } else
                free(want.l.v);
        return r;
}

/* From the cache when there is one; when that fails (the kernel's rules
 * are not what it says: someone changed ours), again from a dump. */
static int rules_sync(int fd, const policy *p)
{
        int r = rules_sync_from(fd, p, rules_cache_valid);

        if (r < 0 && r != -ENOMEM)
                r = rules_sync_from(fd, p, false);
        return r;
}

/* A `throw default` of the worst metric in a slice table: the table exists
 * (a filtered dump of a missing table fails with ENOENT), a lookup that finds
 * nothing better falls through to the next rule, and any default route the
 * slice adds wins over it. */
static struct nlmsghdr *throw_msg(char *buf, int type, int family, uint32_t table)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct rtmsg *rtm;

        nlh->nlmsg_type = (uint16_t) type;
        nlh->nlmsg_flags = type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = (uint8_t) family;
        rtm->rtm_table = table < 256 ? (uint8_t) table : RT_TABLE_UNSPEC;
        rtm->rtm_protocol = GUARD_PROTO;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_THROW;
        mnl_attr_put_u32(nlh, RTA_TABLE, table);
        mnl_attr_put_u32(nlh, RTA_PRIORITY, THROW_METRIC);
        return nlh;
}

static int throw_send(int fd, int type, int family, uint32_t table)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];

        return rtnl_talk(fd, throw_msg(buf, type, family, table));
}

/* The throw route is the only default route of its metric in the table
 * (the proxy refuses that metric to slices), so an exclusive create fails
 * with EEXIST exactly when it is still there. */
int guard_throw_restore(int fd, int family, uint32_t table)
{
        int r = throw_send(fd, RTM_NEWROUTE, family, table);

        if (r == -EEXIST)
                return 0;
        return r < 0 ? r : 1;
}

typedef struct throw_scan {
        uint32_t *tables;
        size_t n, cap;
} throw_scan;

static int route_attr(const struct nlattr *a, void *data)
{
        const struct nlattr **tb = data;
        unsigned type = mnl_attr_get_type(a);

        if (type <= RTA_MAX)
                tb[type] = a;
        return MNL_CB_OK;
}

static int throw_parse(const struct nlmsghdr *nlh, void *data)
{
        const struct nlattr *tb[RTA_MAX + 1] = {};
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        throw_scan *ts = data;

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) || rtm->rtm_protocol != GUARD_PROTO ||
            rtm->rtm_type != RTN_THROW || rtm->rtm_dst_len != 0 ||
            mnl_attr_parse(nlh, sizeof(*rtm), route_attr, tb) < 0)
                return MNL_CB_OK;
        if (GROW(ts->tables, ts->cap, ts->n + 1, 16) < 0)
                return MNL_CB_ERROR;
        ts->tables[ts->n++] = tb[RTA_TABLE] && mnl_attr_get_payload_len(tb[RTA_TABLE]) == 4
                                      ? mnl_attr_get_u32(tb[RTA_TABLE])
                                      : rtm->rtm_table;
        return MNL_CB_OK;
}

/* Every route of the tables to empty, as messages ready to be sent back as
 * deletes (collected first: a dump must end before the socket sends). */
typedef struct route_msgs {
        const uint32_t *tables; /* sorted */
        size_t n_tables;
        char *buf;
        size_t len, cap;
} route_msgs;

static int u32_cmp(const void *x, const void *y);

static int route_collect(const struct nlmsghdr *nlh, void *data)
{
        const struct nlattr *tb[RTA_MAX + 1] = {};
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        route_msgs *rm = data;
        uint32_t table;

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) || mnl_attr_parse(nlh, sizeof(*rtm), route_attr, tb) < 0)
                return MNL_CB_OK;
        table = tb[RTA_TABLE] && mnl_attr_get_payload_len(tb[RTA_TABLE]) == 4 ? mnl_attr_get_u32(tb[RTA_TABLE])
                                                                               : rtm->rtm_table;
        if (!bsearch(&table, rm->tables, rm->n_tables, sizeof(table), u32_cmp))
                return MNL_CB_OK;
        if (GROW(rm->buf, rm->cap, rm->len + NLMSG_ALIGN(nlh->nlmsg_len), 4096) < 0)
                return MNL_CB_ERROR;
        memcpy(rm->buf + rm->len, nlh, nlh->nlmsg_len);
        rm->len += NLMSG_ALIGN(nlh->nlmsg_len);
        return MNL_CB_OK;
}

/* Empty the slice tables uoad no longer serves (their throw routes
 * included): the routes a slice made live and die with its place in the
 * policy. One dump for all of them, the deletes in batches. */
static int tables_flush(int fd, int family, const uint32_t *tables, size_t n)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        route_msgs rm = { .tables = tables, .n_tables = n };
        rtnl_batch del = { .fd = fd, .tolerate = -ESRCH }; /* gone already (e.g. with its interface) */
        int r;

        if (n == 0)
                return 0;
        nlh->nlmsg_type = RTM_GETROUTE;
        ((struct rtmsg *) mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg)))->rtm_family = (uint8_t) family;
        r = rtnl_dump(fd, nlh, route_collect, &rm);
        for (size_t off = 0; r == 0 && off < rm.len;) {
                struct nlmsghdr *m = (struct nlmsghdr *) (rm.buf + off);

                off += NLMSG_ALIGN(m->nlmsg_len);
                m->nlmsg_type = RTM_DELROUTE;
                m->nlmsg_flags = 0;
                rtnl_batch_add(&del, m);
        }
        r = r < 0 ? r : rtnl_batch_done(&del);
        free(del.buf);
        free(rm.buf);
        return r;
}

static int u32_cmp(const void *x, const void *y)
{
        uint32_t a = *(const uint32_t *) x, b = *(const uint32_t *) y;

        return a < b ? -1 : a > b;
}

/* The slice tables of p, sorted; NULL (and 0) for none. */
static uint32_t *tables_wanted(const policy *p, size_t *ret_n)
{
        uint32_t *v = p && policy_slice_count(p) ? calloc(policy_slice_count(p), sizeof(*v)) : NULL;
        size_t n = 0;

        for (size_t i = 0; v && i < policy_slice_count(p); i++)
                if (policy_slice_at(p, i)->table)
                        v[n++] = policy_slice_at(p, i)->table;
        if (n)
                qsort(v, n, sizeof(*v), u32_cmp);
        *ret_n = n;
        return v;
}

static bool table_in(const uint32_t *v, size_t n, uint32_t t)
{
        return n && bsearch(&t, v, n, sizeof(*v), u32_cmp);
}

/* Create the throw route in every wanted table that lacks it (in batches);
 * empty the tables that carry our throw route but are no longer any slice's. */
static int tables_sync(int fd, int family, const policy *p)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        rtnl_batch add = { .fd = fd, .tolerate = -EEXIST };
        throw_scan ts = {};
        size_t n_want = 0, n_gone = 0;
        _cleanup_free_ uint32_t *want = tables_wanted(p, &n_want);
        int r;

        if (p && policy_slice_count(p) && !want)
                return -ENOMEM;
        nlh->nlmsg_type = RTM_GETROUTE;
        ((struct rtmsg *) mnl_nlmsg_put_extra_header(nlh, sizeof(struct rtmsg)))->rtm_family = (uint8_t) family;
        r = rtnl_dump(fd, nlh, throw_parse, &ts);
        if (ts.n)
                qsort(ts.tables, ts.n, sizeof(*ts.tables), u32_cmp);
        for (size_t i = 0; r == 0 && i < n_want; i++)
                if ((i == 0 || want[i] != want[i - 1]) && !table_in(ts.tables, ts.n, want[i]))
                        rtnl_batch_add(&add, throw_msg(buf, RTM_NEWROUTE, family, want[i]));
        r = r < 0 ? r : rtnl_batch_done(&add);
        free(add.buf);
        /* ts.tables, sorted, becomes the list of those to empty. */
        for (size_t i = 0; i < ts.n; i++)
                if (!table_in(want, n_want, ts.tables[i]))
                        ts.tables[n_gone++] = ts.tables[i];
        if (r == 0)
                r = tables_flush(fd, family, ts.tables, n_gone);
        free(ts.tables);
        return r;
}

/* A reload from old: only the tables that are new get their throw route
 * (no dump of every table's routes); a table that went needs emptying, a
 * dump of the family (tables_sync()). */
static int tables_update(int fd, int family, const policy *old, const policy *p)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        rtnl_batch add = { .fd = fd, .tolerate = -EEXIST };
        size_t n_old = 0, n_new = 0;
        _cleanup_free_ uint32_t *was = tables_wanted(old, &n_old);
        _cleanup_free_ uint32_t *now = tables_wanted(p, &n_new);
        int r;

        if ((n_old && !was) || (n_new && !now))
                return -ENOMEM;
        for (size_t i = 0; i < n_old; i++)
                if (!table_in(now, n_new, was[i]))
                        return tables_sync(fd, family, p);
        for (size_t i = 0; i < n_new; i++)
                if (!table_in(was, n_old, now[i]))
                        rtnl_batch_add(&add, throw_msg(buf, RTM_NEWROUTE, family, now[i]));
        r = rtnl_batch_done(&add);
        free(add.buf);
        return r;
}

int guard_apply(uoad *d, const policy *old, const policy *p, char *err, size_t errlen)
{
        /* Element by element from the plan in force; the whole table when
         * what is in the kernel is not known to be old's (at start). */
        _cleanup_free_ char *script = old ? policy_plan_nft_update(old, p) : policy_plan_nft(p);
        _cleanup_close_ int fd = -1;
        int r;

        (void) d;
        r = nft_apply(script, err, errlen);
        if (r < 0 && old) {
                /* The table is not what old made (someone changed it): rebuild. */
                free(script);
                script = policy_plan_nft(p);
                r = nft_apply(script, err, errlen);
        }
        if (r < 0)
                return r;
        fd = rtnl_open();
        if (fd < 0)
                return fd;
        /* Rules before the tables' throw routes: every IPv6 rule change
         * makes the kernel walk every IPv6 route of every table (it flushes
         * their cached state), so rules go in while the tables are still
         * empty. A rule whose table is not there yet falls through to the
         * next, as the throw route would. */
        r = rules_sync(fd, p);
        for (int f = 0; r == 0 && f < 2; f++)
                r = old ? tables_update(fd, f ? AF_INET6 : AF_INET, old, p)
                        : tables_sync(fd, f ? AF_INET6 : AF_INET, p);
        if (r < 0)
                snprintf(err, errlen, "routing rules and tables: %s", strerror(-r));
        return r;
}

int guard_remove(uoad *d)
{
        _cleanup_free_ char *script = policy_plan_nft_remove();
        _cleanup_close_ int fd = -1;
        char err[256];
        int r, r2;

        (void) d;
        r = nft_apply(script, err, sizeof(err));
        fd = rtnl_open();
        if (fd < 0)
                return fd;
        /* Tables first, for the same reason as in guard_apply(). */
        r2 = tables_sync(fd, AF_INET, NULL);
        if (r2 == 0)
                r2 = tables_sync(fd, AF_INET6, NULL);
        /* From a dump: removal takes every rule of ours, cached or not. */
        rules_cache_drop();
        if (r2 == 0)
                r2 = rules_sync(fd, NULL);
        rules_cache_drop();
        return r < 0 ? r : r2;
}
