/* tests/test_policy_rules.c: unit tests of policy/policy_rules.c, the
 * routing rules as decision trees. A small model of the kernel's rule walk
 * (fib_rules_lookup: pref order, a goto jumps to the first rule of its
 * target pref and is skipped when there is none, a table that has no route
 * throws the lookup on to the next rule) runs lookups against the plan:
 * every slice's traffic reaches its table first, everything else reaches
 * main first, within a bounded number of rules; one slice more changes a
 * few rules only. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "policy/policy.h"
#include "policy/policy_rules.h"
#include "tests/policytest.h"

static int pref_cmp(const void *x, const void *y)
{
        const policy_rule *a = x, *b = y;

        return a->pref != b->pref ? (a->pref < b->pref ? -1 : 1) : 0;
}

static policy_rules plan_from(const policy *p, int family, const policy_rules *have)
{
        policy_rules r = {};

        cr_assert_eq(policy_plan_rules(p, family, have, &r), 0);
        if (r.n)
                qsort(r.v, r.n, sizeof(*r.v), pref_cmp);
        return r;
}

static policy_rules plan(const policy *p, int family)
{
        return plan_from(p, family, NULL);
}

typedef struct flow {
        uid_t uid;
        uoa_addr src; /* family 0: no source yet */
        uint16_t sport;
} flow;

static bool matches(const policy_rule *r, const flow *f)
{
        if (r->has_uid && (f->uid < r->uid_lo || f->uid > r->uid_hi))
                return false;
        if (r->src.family) {
                static const uint8_t zero[16];
                const uint8_t *s = f->src.family ? f->src.bytes : zero;

                /* IPv6 (fib6_rule_match): a rule with a source prefix does
                 * not match a lookup that has no source. */
                if (r->family == AF_INET6 && !f->src.family)
                        return false;

                for (unsigned i = 0; i < r->src_len; i++)
                        if ((s[i / 8] ^ r->src.bytes[i / 8]) >> (7 - i % 8) & 1)
                                return false;
        }
        if (r->sport_hi && (f->sport < r->sport_lo || f->sport > r->sport_hi))
                return false;
        return true;
}

/* The first table the kernel asks for f, and how many rules it tested to
 * get there. Slice tables throw (as an empty one does): the walk goes on,
 * and must reach main next. */
static uint32_t walk(const policy_rules *r, const flow *f, unsigned *ret_tested)
{
        uint32_t first = 0;
        unsigned tested = 0;

        for (size_t i = 0; i < r->n; i++) {
                const policy_rule *x = &r->v[i];

                tested++;
                if (!matches(x, f))
                        continue;
                if (x->action == POLICY_RULE_GOTO) {
                        size_t j = i, k = r->n;

                        cr_assert_gt(x->target, x->pref, "a goto jumps forward");
                        while (j < k) { /* the first rule of pref target */
                                size_t m = j + (k - j) / 2;

                                if (r->v[m].pref < x->target)
                                        j = m + 1;
                                else
                                        k = m;
                        }
                        cr_assert(j < r->n && r->v[j].pref == x->target, "goto %u from %u lands on a rule",
                                  x->target, x->pref);
                        i = j - 1;
                        continue;
                }
                if (!first) {
                        first = x->table;
                        *ret_tested = tested;
                }
                if (x->table == POLICY_RULES_TABLE_MAIN)
                        return first;
                cr_assert_eq(x->table, first, "a slice's lookup tries its own table only");
        }
        if (!first)
                *ret_tested = tested;
        return first ? first : POLICY_RULES_TABLE_MAIN; /* on to pref 32766 */
}

static uint32_t first_table(const policy_rules *r, flow f, unsigned *tested)
{
        unsigned t = 0;
        uint32_t table = walk(r, &f, &t);

        if (tested)
                *tested = t;
        return table;
}

static flow by_uid(uid_t u)
{
        return (flow) { .uid = u };
}

static flow from(const char *a, uint16_t port)
{
        return (flow) { .uid = 0, .src = A(a), .sport = port };
}

/* A policy of n slices, uid 100000 + i, address 10.(i / 256).(i % 256).1
 * and fd00::i, table 5000 + i; every third also a range of 10 ports of the
 * shared 192.0.2.1. */
static policy *many_and(unsigned n, unsigned skip, const char *more)
{
        strbuf b = {};
        policy *p;
        char *text;

        for (unsigned i = 0; i < n; i++) {
                if (i == skip)
                        continue;
                strbuf_printf(&b, "%u address 10.%u.%u.1\n%u address fd00::%x\n%u table %u\n", 100000 + i,
                              i / 256, i % 256, 100000 + i, i + 1, 100000 + i, 5000 + i);
                if (i % 3 == 0)
                        strbuf_printf(&b, "%u address 192.0.2.1 ports %u-%u\n", 100000 + i, 1024 + i / 3 * 10,
                                      1024 + i / 3 * 10 + 9);
        }
        strbuf_printf(&b, "%s", more);
        text = strbuf_done(&b);
        cr_assert_not_null(text);
        p = parse_ok(text);
        free(text);
        return p;
}

static policy *many(unsigned n, unsigned skip)
{
        return many_and(n, skip, "");
}

Test(rules, the_design_example_routes_each_slice_by_its_table)
{
        policy *p = parse_ok(design_example);
        policy_rules r4 = plan(p, AF_INET), r6 = plan(p, AF_INET6);

        for (size_t i = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i);
                uint32_t want = s->table ? s->table : POLICY_RULES_TABLE_MAIN;

                for (size_t j = 0; j < s->n_addrs; j++) {
                        const policy_address *a = &s->addrs[j];
                        flow f = { .uid = 0, .src = a->addr, .sport = a->shared ? a->port_hi : 40000 };
                        const policy_rules *r = a->addr.family == AF_INET ? &r4 : &r6;

                        cr_assert_eq(first_table(r, f, NULL), want, "%u from %s", s->uid, fmt(&a->addr));
                }
                if (policy_slice_primary(s, AF_INET))
                        cr_assert_eq(first_table(&r4, by_uid(s->uid), NULL), want);
        }
        cr_assert_eq(first_table(&r4, by_uid(0), NULL), POLICY_RULES_TABLE_MAIN);
        free(r4.v);
        free(r6.v);
        policy_free(p);
}

Test(rules, no_table_no_rules)
{
        policy *p = parse_ok("1001 address 10.0.0.1\n1002 address 10.0.0.2 ports 2000-2999\n");
        policy_rules r = plan(p, AF_INET);

        cr_assert_eq(r.n, 0);
        free(r.v);
        policy_free(p);
}

Test(rules, a_slice_reaches_its_table_and_nothing_else_does_in_few_rules)
{
        enum { N = 10000 };
        policy *p = many(N, N);
        policy_rules r4 = plan(p, AF_INET), r6 = plan(p, AF_INET6);
        unsigned worst = 0, t;
        char a[64];

        for (unsigned i = 0; i < N; i++) {
                cr_assert_eq(first_table(&r4, by_uid(100000 + i), &t), 5000 + i);
                worst = t > worst ? t : worst;
                cr_assert_eq(first_table(&r6, by_uid(100000 + i), &t), 5000 + i);
                worst = t > worst ? t : worst;
                snprintf(a, sizeof(a), "10.%u.%u.1", i / 256, i % 256);
                cr_assert_eq(first_table(&r4, from(a, 40000), &t), 5000 + i, "from %s", a);
                worst = t > worst ? t : worst;
                snprintf(a, sizeof(a), "fd00::%x", i + 1);
                cr_assert_eq(first_table(&r6, from(a, 40000), &t), 5000 + i, "from %s", a);
                worst = t > worst ? t : worst;
                if (i % 3 == 0) {
                        cr_assert_eq(first_table(&r4, from("192.0.2.1", (uint16_t) (1024 + i / 3 * 10 + 4)), &t),
                                     5000 + i);
                        worst = t > worst ? t : worst;
                }
        }
        /* log2(10 000 keys) levels, about two rules each, and one leaf. */
        cr_assert_leq(worst, 48, "a slice's lookup tested %u rules", worst);
        /* Root, users without a slice, sources that are no slice's. */
        cr_assert_eq(first_table(&r4, by_uid(0), &t), POLICY_RULES_TABLE_MAIN);
        cr_assert_leq(t, 3, "root's unbound lookup tested %u rules", t);
        cr_assert_eq(first_table(&r4, by_uid(65534), &t), POLICY_RULES_TABLE_MAIN);
        cr_assert_leq(t, 3);
        cr_assert_eq(first_table(&r4, from("10.77.0.1", 40000), &t), POLICY_RULES_TABLE_MAIN);
        cr_assert_leq(t, 6, "a host address off the slices' prefixes tested %u rules", t);
        cr_assert_eq(first_table(&r6, from("2001:db8::1", 40000), &t), POLICY_RULES_TABLE_MAIN);
        cr_assert_leq(t, 4);
        cr_assert_eq(first_table(&r4, from("10.3.7.2", 40000), &t), POLICY_RULES_TABLE_MAIN);
        cr_assert_leq(t, 48);
        cr_assert_eq(first_table(&r4, from("192.0.2.1", 80), &t), POLICY_RULES_TABLE_MAIN, "below every range");
        cr_assert_eq(first_table(&r4, from("192.0.2.1", 65000), &t), POLICY_RULES_TABLE_MAIN, "above every range");
        cr_assert_eq(first_table(&r4, by_uid(100000 + N), &t), POLICY_RULES_TABLE_MAIN);
        for (size_t i = 0; i < r4.n; i++) {
                cr_assert_geq(r4.v[i].pref, POLICY_RULES_PREF_MIN);
                cr_assert_leq(r4.v[i].pref, POLICY_RULES_PREF_MAX);
        }
        free(r4.v);
        free(r6.v);
        policy_free(p);
}

static int rule_cmp(const void *x, const void *y)
{
        return policy_rule_cmp(x, y);
}

/* How many rules are in one plan and not the other. */
static size_t changed(policy_rules *a, policy_rules *b)
{
        size_t i = 0, j = 0, n = 0;

        if (a->n)
                qsort(a->v, a->n, sizeof(*a->v), rule_cmp);
        if (b->n)
                qsort(b->v, b->n, sizeof(*b->v), rule_cmp);
        while (i < a->n || j < b->n) {
                int c = i == a->n ? 1 : j == b->n ? -1 : policy_rule_cmp(&a->v[i], &b->v[j]);

                n += c != 0;
                i += c <= 0;
                j += c >= 0;
        }
        return n;
}

Test(rules, one_slice_more_or_less_changes_the_rules_on_its_path_only)
{
        enum { N = 3000 };
        policy *all = many(N, N), *less = many(N, 1234);
        policy_rules a = plan(all, AF_INET), b = plan(less, AF_INET);
        size_t n = changed(&a, &b);

        /* Its address and uid rules, and per tree a few tests and exits. */
        cr_assert_leq(n, 16, "%zu rules changed of %zu", n, a.n);
        cr_assert_geq(n, 2);
        free(a.v);
        free(b.v);
        policy_free(all);
        policy_free(less);
}

Test(rules, a_lone_slice_is_four_rules)
{
        policy *p = parse_ok("1001 address 10.0.0.1\n1001 table 100\n");
        policy_rules r = plan(p, AF_INET);

        cr_assert_eq(r.n, 4, "from its address; from nothing: by its uid, else main; then main");
        cr_assert_eq(first_table(&r, from("10.0.0.1", 1), NULL), 100);
        cr_assert_eq(first_table(&r, by_uid(1001), NULL), 100);
        cr_assert_eq(first_table(&r, from("10.0.0.2", 1), NULL), POLICY_RULES_TABLE_MAIN);
        /* Its uid with a source that is not its own: not its table's. */
        cr_assert_eq(first_table(&r, (flow) { .uid = 1001, .src = A("10.0.0.9") }, NULL), POLICY_RULES_TABLE_MAIN);
        free(r.v);
        policy_free(p);
}

/* Every slice of p reaches its table first, from each of its addresses
 * (the middle of a shared range) and by uid; returns the most rules a
 * lookup tested. */
static unsigned check_routes(const policy *p, const policy_rules *r4, const policy_rules *r6)
{
        unsigned worst = 0, t;

        for (size_t i = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i);

                if (!s->table)
                        continue;
                for (size_t j = 0; j < s->n_addrs; j++) {
                        const policy_address *a = &s->addrs[j];
                        flow f = { .src = a->addr, .sport = a->shared ? (uint16_t) (a->port_lo + (a->port_hi - a->port_lo) / 2) : 9 };

                        cr_assert_eq(first_table(a->addr.family == AF_INET ? r4 : r6, f, &t), s->table, "%u from %s",
                                     s->uid, fmt(&a->addr));
                        worst = t > worst ? t : worst;
                }
                if (policy_slice_primary(s, AF_INET)) {
                        cr_assert_eq(first_table(r4, by_uid(s->uid), &t), s->table, "uid %u", s->uid);
                        worst = t > worst ? t : worst;
                }
                if (policy_slice_primary(s, AF_INET6)) {
                        cr_assert_eq(first_table(r6, by_uid(s->uid), &t), s->table, "uid %u, IPv6", s->uid);
                        worst = t > worst ? t : worst;
                }
        }
        cr_assert_eq(first_table(r4, by_uid(0), NULL), POLICY_RULES_TABLE_MAIN);
        return worst;
}

/* p2's plan made in p1's rules: p2's routes, and how many rules changed. */
static size_t change(const policy *p1, const policy *p2, unsigned *ret_worst)
{
        policy_rules a = plan(p1, AF_INET), a6 = plan(p1, AF_INET6);
        policy_rules b = plan_from(p2, AF_INET, &a), b6 = plan_from(p2, AF_INET6, &a6);
        size_t n;

        *ret_worst = check_routes(p2, &b, &b6);
        n = changed(&a, &b) + changed(&a6, &b6);
        free(a.v);
        free(a6.v);
        free(b.v);
        free(b6.v);
        return n;
}

Test(rules, a_change_is_made_in_the_rules_in_force)
{
        enum { N = 3000 };
        policy *all = many(N, N), *less = many(N, 1234), *far = many_and(N, N,
                "4000000 address 11.0.0.1\n4000000 address 2001:db8::1\n4000000 table 4000000\n");
        unsigned worst;
        size_t n;

        /* One slice less: its rules (two addresses, a uid per family and
         * a range), and a goto or an exit where its node empties. */
        cr_assert_leq(change(all, less, &worst), 12);
        cr_assert_leq(worst, 48);
        /* Back again, and one far from every other (a uid and addresses
         * that would make a new root): its rules only. */
        cr_assert_leq(change(less, all, &worst), 12);
        n = change(all, far, &worst);
        /* An address and a uid rule per family, and the goto to a node
         * that now has an entry of its own. */
        cr_assert_leq(n, 6, "%zu rules changed", n);
        cr_assert_leq(worst, 48);
        policy_free(all);
        policy_free(less);
        policy_free(far);
}

Test(rules, many_new_slices_fit_in_and_rules_not_ours_are_built_anew)
{
        policy *small = many(100, 100), *big = many(1000, 1000);
        policy_rules a = plan(small, AF_INET), b = plan_from(big, AF_INET, &a), c = plan(big, AF_INET);
        policy_rules old = {};

        /* 900 new slices at once: in the trie in force, no worse for it. */
        {
                policy_rules a6 = plan(small, AF_INET6), b6 = plan_from(big, AF_INET6, &a6);

                qsort(b.v, b.n, sizeof(*b.v), pref_cmp);
                cr_assert_leq(check_routes(big, &b, &b6), 48);
                free(a6.v);
                free(b6.v);
        }
        /* One at a time: changes stay small on the whole (a node crowded
         * by additions is rebuilt now and then), and the trie never gets
         * much worse than one built anew. */
        free(b.v);
        b = a;
        size_t total = 0;
        for (unsigned i = 100; i < 400; i++) {
                policy *q = many(i + 1, i + 1);
                policy_rules next = plan_from(q, AF_INET, &b);
                unsigned worst = 0, t;

                total += changed(&b, &next);
                free(b.v);
                b = next;
                qsort(b.v, b.n, sizeof(*b.v), pref_cmp);
                for (unsigned k = 0; k <= i; k++) {
                        char addr[32];

                        snprintf(addr, sizeof(addr), "10.%u.%u.1", k / 256, k % 256);
                        cr_assert_eq(first_table(&b, from(addr, 9), &t), 5000 + k);
                        worst = t > worst ? t : worst;
                }
                cr_assert_leq(worst, 48, "after %u additions one at a time: %u rules", i - 99, worst);
                policy_free(q);
        }
        /* Each addition: its address, uid and (every third) range entries, and
         * now and then a node above one (about ten rules on average). */
        cr_assert_leq(total, 300 * 12, "300 additions changed %zu rules", total);
        a = (policy_rules) {};
        /* An older uoad's rules: one lookup per slice at 1000 + uid. */
        for (unsigned i = 0; i < 1000; i++) {
                policy_rule r = { .family = AF_INET, .pref = 1000 + i, .action = POLICY_RULE_TABLE, .table = 5000 + i,
                                  .has_uid = true, .uid_lo = 100000 + i, .uid_hi = 100000 + i };

                old.v = realloc(old.v, (old.n + 1) * sizeof(*old.v));
                old.v[old.n++] = r;
        }
        free(b.v);
        b = plan_from(big, AF_INET, &old);
        cr_assert_eq(changed(&b, &c), 0);
        free(a.v);
        free(b.v);
        free(c.v);
        free(old.v);
        policy_free(small);
        policy_free(big);
}
