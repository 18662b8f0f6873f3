/* tests/test_policy_lookup.c: unit tests of policy/policy_lookup.c: who
 * owns an address and port, at any size of policy. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/policytest.h"

/* ---- lookups -------------------------------------------------------------------------------- */

Test(lookup, shared_address_owner_depends_on_port)
{
        policy *p = parse_ok(design_example);
        uoa_addr shared = A("133.69.37.10"), mapped = A("::ffff:133.69.37.10");
        bool is_shared = false;

        cr_assert_eq(policy_address_owner(p, &shared, 10500, &is_shared)->uid, U20);
        cr_assert(is_shared);
        cr_assert_eq(policy_address_owner(p, &shared, 11999, NULL)->uid, U21);
        cr_assert_eq(policy_address_owner(p, &mapped, 11000, NULL)->uid, U21);
        cr_assert_null(policy_address_owner(p, &shared, 12000, &is_shared));
        cr_assert(is_shared);
        cr_assert_null(policy_address_owner(p, &shared, 0, NULL));
        policy_free(p);
}

Test(lookup, dedicated_address_owner_ignores_port)
{
        policy *p = parse_ok(design_example);
        uoa_addr a = A("2001:db8:1::2"), nobody = A("192.0.2.1");
        bool is_shared = true;

        cr_assert_eq(policy_address_owner(p, &a, 179, &is_shared)->uid, U00);
        cr_assert_not(is_shared);
        cr_assert_null(policy_address_owner(p, &nobody, 80, &is_shared));
        cr_assert_not(is_shared);
        policy_free(p);
}

Test(lookup, many_ranges_on_one_address_resolve_every_port)
{
        char *text = malloc(200 * 64), *w = text;
        policy *p;
        uoa_addr a = A("198.51.100.7");

        /* 200 slices with ranges of varying size, listed out of order. */
        for (unsigned i = 0; i < 200; i++) {
                unsigned k = (i * 73) % 200;
                w += sprintf(w, "%u address 198.51.100.7 ports %u-%u\n", 5000 + k, 1000 + k * 300,
                             1000 + k * 300 + 150 + k % 150);
        }
        p = parse_ok(text);
        for (unsigned port = 1; port <= 65535; port++) {
                const policy_slice *s = policy_address_owner(p, &a, (uint16_t)port, NULL);
                unsigned k = port >= 1000 ? (port - 1000) / 300 : 0;
                bool in = port >= 1000 && k < 200 && port - 1000 - k * 300 <= 150 + k % 150;

                cr_assert_eq(s != NULL, in, "port %u", port);
                if (in)
                        cr_assert_eq(s->uid, 5000 + k, "port %u", port);
        }
        free(text);
        policy_free(p);
}

Test(lookup, hundred_thousand_slices_stay_correct)
{
        enum { N = 100000 };
        char *text = malloc((size_t)N * 160), *w = text;
        policy *p;

        for (unsigned i = 0; i < N; i++) {
                w += sprintf(w, "%u address 10.%u.%u.%u\n", 20000 + i, i >> 16, (i >> 8) & 255, i & 255);
                w += sprintf(w, "%u address 2001:db8::%x:%x\n", 20000 + i, i >> 16, i & 0xffff);
                w += sprintf(w, "%u address 100.64.%u.%u ports %u-%u\n", 20000 + i, (i / 64) >> 8,
                             (i / 64) & 255, 1000 * (i % 64) + 1, 1000 * (i % 64) + 1000);
                w += sprintf(w, "%u table %u\n", 20000 + i, 1000 + i);
        }
        p = parse_ok(text);
        cr_assert_eq(policy_slice_count(p), N);
        for (unsigned i = 0; i < N; i++) {
                uid_t uid = 20000 + i;
                const policy_slice *s = policy_slice_find(p, uid);
                uoa_addr v4 = { .family = AF_INET, .bytes = { 10, i >> 16, (i >> 8) & 255, i & 255 } };
                uoa_addr sh = { .family = AF_INET, .bytes = { 100, 64, (i / 64) >> 8, (i / 64) & 255 } };

                cr_assert_not_null(s);
                cr_assert_eq(s->uid, uid);
                cr_assert_eq(s->table, 1000 + i);
                cr_assert_eq(policy_slice_at(p, i), s, "sorted by uid");
                cr_assert_eq(policy_address_owner(p, &v4, 0, NULL), s);
                cr_assert_eq(policy_address_owner(p, &s->addrs[1].addr, 0, NULL), s);
                cr_assert_eq(policy_address_owner(p, &sh, (uint16_t)(1000 * (i % 64) + 500), NULL), s);
        }
        cr_assert_null(policy_slice_find(p, 20000 + N));
        free(text);
        policy_free(p);
}

Test(lookup, interfaces_restrict_only_when_listed)
{
        policy *p = parse_ok(design_example);

        cr_assert(policy_slice_may_use_interface(policy_slice_find(p, U00), "tun0"));
        cr_assert_not(policy_slice_may_use_interface(policy_slice_find(p, U00), "eth0"));
        cr_assert_not(policy_slice_may_use_interface(policy_slice_find(p, U00), "tun0x"));
        cr_assert(policy_slice_may_use_interface(policy_slice_find(p, U11), "eth0"));
        policy_free(p);
}

/* policy_slice_seek walks two policies side by side: every uid of one is
 * found in the other exactly when policy_slice_find finds it, whatever the
 * gaps, and the cursor never goes back. */
Test(lookup, seek_agrees_with_find_in_uid_order)
{
        policy *a = parse_ok("5 address 10.0.0.5\n1 address 10.0.0.1\n9 address 10.0.0.9\n7 address 10.0.0.7\n"
                             "3 address 10.0.0.3\n");
        policy *b = parse_ok("2 address 10.0.1.2\n3 address 10.0.1.3\n4 address 10.0.1.4\n5 address 10.0.1.5\n"
                             "6 address 10.0.1.6\n9 address 10.0.1.9\n12 address 10.0.1.12\n");
        size_t cursor = 0, before;

        for (size_t i = 0; i < policy_slice_count(b); i++) {
                uid_t uid = policy_slice_at(b, i)->uid;

                before = cursor;
                cr_expect_eq(policy_slice_seek(a, &cursor, uid), policy_slice_find(a, uid), "uid %u", uid);
                cr_expect_geq(cursor, before);
        }
        cr_expect_eq(cursor, policy_slice_count(a), "past a's last uid (9) after 12");
        cursor = 0;
        cr_expect_null(policy_slice_seek(NULL, &cursor, 1));
        policy_free(a);
        policy_free(b);
}
