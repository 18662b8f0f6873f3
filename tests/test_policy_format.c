/* tests/test_policy_format.c: unit tests of policy/policy_format.c: the
 * canonical text of a policy, which parses back to the same policy. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/policytest.h"

/* ---- format -------------------------------------------------------------------------------- */

Test(format, prints_canonical_lines_in_assignment_order)
{
        policy *p = parse_ok("u21 address 133.69.37.10 ports 11000-11999\n"
                             "u00 address 2001:DB8:1:0::2\n"
                             "u00 table 032800\n"
                             "u00 interface tun0\n"
                             "u00 raw\n");
        char *s = policy_format(p, NULL);

        cr_assert_str_eq(s, "1021 address 133.69.37.10 ports 11000-11999\n"
                            "1000 address 2001:db8:1::2\n"
                            "1000 table 32800\n"
                            "1000 interface tun0\n"
                            "1000 raw\n");
        free(s);
        s = policy_format(p, &(uid_t){ U21 });
        cr_assert_str_eq(s, "1021 address 133.69.37.10 ports 11000-11999\n");
        free(s);
        policy_free(p);
}

Test(format, output_parses_back_to_the_same_policy)
{
        policy *p = parse_ok(design_example), *q;
        char *s = policy_format(p, NULL), *t;

        q = parse_ok(s);
        t = policy_format(q, NULL);
        cr_assert_str_eq(s, t);
        cr_assert_eq(policy_slice_count(p), policy_slice_count(q));
        for (size_t i = 0; i < policy_slice_count(p); i++) {
                const policy_slice *a = policy_slice_at(p, i), *b = policy_slice_at(q, i);

                cr_assert_eq(a->uid, b->uid);
                cr_assert_eq(a->n_addrs, b->n_addrs);
                cr_assert_eq(a->table, b->table);
                cr_assert_eq(a->raw, b->raw);
                cr_assert_eq(a->egress, b->egress);
                cr_assert_eq(a->ingress, b->ingress);
        }
        free(s);
        free(t);
        policy_free(p);
        policy_free(q);
}

Test(format, rates_print_in_the_largest_exact_unit)
{
        policy *p = parse_ok("1001 egress 40000kbit\n1001 ingress 1500kbit\n1002 egress 2000000000bit\n"
                             "1002 ingress 123bit\n");
        char *s = policy_format(p, NULL);
        char buf[POLICY_RATE_STRLEN];

        cr_assert_str_eq(s, "1001 egress 40mbit\n1001 ingress 1500kbit\n1002 egress 2gbit\n1002 ingress 123bit\n");
        cr_assert_str_eq(policy_rate_format(1000000000000ull, buf, sizeof(buf)), "1000gbit");
        free(s);
        policy_free(p);
}

Test(format, empty_policy_is_empty_text)
{
        policy *p = policy_new_empty();
        char *s = policy_format(p, NULL);

        cr_assert_str_eq(s, "");
        cr_assert_eq(policy_slice_count(p), 0);
        cr_assert_null(policy_slice_at(p, 0));
        free(s);
        policy_free(p);
}
