/* tests/test_policy_source.c: unit tests of policy/policy_source.c: the
 * source address of an unbound socket (§4 connect/sendto row, RFC 6724). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/policytest.h"

/* ---- source selection ----------------------------------------------------------------------- */

static const char *source(const policy_slice *s, const char *dst, const char *hint)
{
        uoa_addr d = A(dst), h;
        policy_bind b = {};
        int r;

        if (hint)
                h = A(hint);
        r = policy_source_select(s, &d, hint ? &h : NULL, &b);
        cr_assert_eq(r, 0, "source for %s: %d", dst, r);
        cr_assert_eq(b.port, 0);
        return fmt(&b.addr);
}

Test(source, ipv4_longest_match_then_primary)
{
        policy *p = parse_ok(design_example);
        const policy_slice *u11 = policy_slice_find(p, U11);

        cr_assert_str_eq(source(u11, "10.1.3.9", NULL), "10.1.3.1");
        cr_assert_str_eq(source(u11, "10.254.9.9", NULL), "10.254.1.2");
        cr_assert_str_eq(source(u11, "8.8.8.8", NULL), "10.254.1.2", "a tie goes to the primary");
        cr_assert_str_eq(source(u11, "::ffff:10.1.3.7", NULL), "10.1.3.1");
        policy_free(p);
}

Test(source, loopback_destinations_use_loopback_sources)
{
        policy *p = parse_ok(design_example);
        const policy_slice *u11 = policy_slice_find(p, U11);

        cr_assert_str_eq(source(u11, "127.0.0.53", NULL), "127.0.0.1");
        cr_assert_str_eq(source(u11, "::1", NULL), "::1");
        cr_assert_str_eq(source(u11, "0.0.0.0", NULL), "127.0.0.1");
        policy_free(p);
}

Test(source, hint_wins_only_when_the_slice_owns_it)
{
        policy *p = parse_ok(design_example);
        const policy_slice *u11 = policy_slice_find(p, U11);

        cr_assert_str_eq(source(u11, "10.254.9.9", "10.1.3.1"), "10.1.3.1");
        cr_assert_str_eq(source(u11, "10.254.9.9", "1.254.1.2"), "10.254.1.2", "u00's address is no hint");
        cr_assert_str_eq(source(u11, "10.254.9.9", "2001:db8:1::2"), "10.254.1.2");
        policy_free(p);
}

Test(source, shared_source_carries_the_range_and_missing_family_fails)
{
        policy *p = parse_ok(design_example);
        const policy_slice *u20 = policy_slice_find(p, U20);
        uoa_addr d = A("2001:db8::9"), d4 = A("192.0.2.1");
        policy_bind b = { .port = 7 };

        cr_assert_eq(policy_source_select(u20, &d, NULL, &b), -EADDRNOTAVAIL);
        cr_assert_eq(b.port, 7);
        cr_assert_eq(policy_source_select(u20, &d4, NULL, &b), 0);
        cr_assert_str_eq(fmt(&b.addr), "133.69.37.10");
        cr_assert_eq(b.lo, 10000);
        cr_assert_eq(b.hi, 10999);
        policy_free(p);
}

Test(source, ipv6_scope_rule_picks_the_smallest_sufficient_scope)
{
        policy *p = parse_ok("1 address 2001:db8::1\n1 address fe80::1\n1 address fec0::1\n"
                             "2 address fe80::2\n2 address fec0::2\n");
        const policy_slice *s = policy_slice_find(p, 1), *t = policy_slice_find(p, 2);

        cr_assert_str_eq(source(s, "fe80::99", NULL), "fe80::1");
        cr_assert_str_eq(source(s, "fec0::99", NULL), "fec0::1");
        cr_assert_str_eq(source(s, "2a00::1", NULL), "2001:db8::1");
        cr_assert_str_eq(source(s, "ff02::1", NULL), "fe80::1", "link-local multicast");
        cr_assert_str_eq(source(s, "ff0e::1", NULL), "2001:db8::1", "global multicast");
        cr_assert_str_eq(source(t, "2a00::1", NULL), "fec0::2", "the largest scope when none suffices");
        policy_free(p);
}

Test(source, ipv6_label_rule_matches_6to4_and_ula)
{
        policy *p = parse_ok("1 address 2001:db8::1\n1 address 2002:c000:201::1\n1 address fd12::1\n");
        const policy_slice *s = policy_slice_find(p, 1);

        cr_assert_str_eq(source(s, "2002:c633:6401::1", NULL), "2002:c000:201::1");
        cr_assert_str_eq(source(s, "fd99::1", NULL), "fd12::1");
        cr_assert_str_eq(source(s, "2001:db9::1", NULL), "2001:db8::1");
        cr_assert_str_eq(source(s, "2a00::1", NULL), "2001:db8::1", "label 1 matches none: longest prefix");
        policy_free(p);
}

Test(source, ipv6_label_rule_comes_before_longest_prefix)
{
        policy *p = parse_ok("1 address 2002:c000:201::1\n1 address 3000::1\n");
        const policy_slice *s = policy_slice_find(p, 1);

        /* 2002:: shares 4 leading bits with 2a00::, 3000:: only 3, but
         * 3000::1 has 2a00::1's label (1) and 6to4 has label 2. */
        cr_assert_str_eq(source(s, "2a00::1", NULL), "3000::1");
        policy_free(p);
}

Test(source, ipv6_same_address_then_longest_prefix_then_primary)
{
        policy *p = parse_ok("1 address 2001:db8:1::2\n1 address 2001:db8:1::7\n1 address 2001:db8:2::7\n");
        const policy_slice *s = policy_slice_find(p, 1);

        cr_assert_str_eq(source(s, "2001:db8:1::7", NULL), "2001:db8:1::7", "rule 1");
        cr_assert_str_eq(source(s, "2001:db8:2::1", NULL), "2001:db8:2::7", "rule 8");
        cr_assert_str_eq(source(s, "2001:db8:1::5", NULL), "2001:db8:1::2", "same /64: the primary");
        policy_free(p);
}
