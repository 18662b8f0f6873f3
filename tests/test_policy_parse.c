/* tests/test_policy_parse.c: unit tests of policy/policy_parse.c and the
 * validation in policy_build.c: parsing and its error messages, edits. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/policytest.h"

/* ---- parsing ---------------------------------------------------------------------------- */

Test(parse, design_example_yields_its_four_slices)
{
        policy *p = parse_ok(design_example);
        const policy_slice *s = policy_slice_find(p, U00);

        cr_assert_eq(policy_slice_count(p), 4);
        cr_assert_not_null(s);
        cr_assert_eq(s->n_addrs, 2);
        cr_assert_str_eq(fmt(&s->addrs[0].addr), "1.254.1.2");
        cr_assert_str_eq(fmt(&s->addrs[1].addr), "2001:db8:1::2");
        cr_assert_eq(s->table, 32800);
        cr_assert_eq(s->n_ifnames, 1);
        cr_assert_str_eq(s->ifnames[0], "tun0");
        cr_assert(s->raw);
        s = policy_slice_find(p, U11);
        cr_assert_eq(s->n_addrs, 2);
        cr_assert_not(s->raw);
        cr_assert_eq(s->n_ifnames, 0);
        s = policy_slice_find(p, U20);
        cr_assert(s->addrs[0].shared);
        cr_assert_eq(s->addrs[0].port_lo, 10000);
        cr_assert_eq(s->addrs[0].port_hi, 10999);
        cr_assert_eq(s->table, 0);
        cr_assert_null(policy_slice_find(p, 4242));
        policy_free(p);
}

Test(parse, comments_blank_lines_tabs_and_crlf_are_accepted)
{
        policy *p = parse_ok("# the lab\n\n   \n"
                             "1001\taddress  10.0.0.1   # first\r\n"
                             "alice raw#granted\n"
                             "1001 table 7");
        const policy_slice *s = policy_slice_find(p, 1001);

        cr_assert_eq(policy_slice_count(p), 2);
        cr_assert_eq(s->table, 7);
        cr_assert(policy_slice_find(p, 2000)->raw);
        policy_free(p);
}

Test(parse, empty_text_is_an_empty_policy)
{
        policy *p = parse_ok("");

        cr_assert_eq(policy_slice_count(p), 0);
        policy_free(p);
}

Test(parse, unknown_keyword_names_file_and_line)
{
        expect_error("u00 raw\n# x\nu00 adress 1.2.3.4\n", "uoa.conf:3: unknown keyword 'adress'");
        expect_error("u00\n", "uoa.conf:1: missing keyword");
}

Test(parse, unknown_user_and_bad_uid_are_refused)
{
        expect_error("bob address 10.0.0.1\n", "uoa.conf:1: unknown user 'bob'");
        expect_error("4294967295 raw\n", "bad uid '4294967295'");
        expect_error("99999999999 raw\n", "bad uid '99999999999'");
}

Test(parse, dedicated_address_has_one_owner)
{
        expect_error("#\n1001 address 10.0.0.1\n#\n#\n1002 address 10.0.0.1\n",
                     "uoa.conf:5: address 10.0.0.1 is already assigned to uid 1001 (line 2)");
        expect_error("1001 address 10.0.0.1\n1001 address 10.0.0.1\n",
                     "uoa.conf:2: address 10.0.0.1 is already assigned to uid 1001 (line 1)");
        expect_error("1001 address 2001:db8::1\n1002 address 2001:DB8:0::1\n",
                     "uoa.conf:2: address 2001:db8::1 is already assigned to uid 1001 (line 1)");
}

Test(parse, dedicated_address_is_never_also_shared)
{
        expect_error("1001 address 10.0.0.1\n1002 address 10.0.0.1 ports 1000-2000\n",
                     "uoa.conf:2: address 10.0.0.1 is already assigned to uid 1001 (line 1)");
        expect_error("1001 address 10.0.0.1 ports 1000-2000\n1002 address 10.0.0.1\n",
                     "uoa.conf:2: address 10.0.0.1 is already shared");
}

Test(parse, shared_ranges_never_overlap)
{
        expect_error("1001 raw\n1002 raw\n#\n#\n#\n#\n"
                     "1002 address 133.69.37.10 ports 10000-10999\n"
                     "1003 address 133.69.37.10 ports 10500-11500\n",
                     "uoa.conf:8: port range 10500-11500 on 133.69.37.10 overlaps uid 1002's 10000-10999 (line 7)");
        expect_error("1001 address 10.0.0.1 ports 100-200\n1002 address 10.0.0.1 ports 200-300\n",
                     "uoa.conf:2: port range 200-300 on 10.0.0.1 overlaps uid 1001's 100-200 (line 1)");
        /* The same slice may not list one address twice either. */
        expect_error("1001 address 10.0.0.1 ports 100-200\n1001 address 10.0.0.1 ports 300-400\n",
                     "uoa.conf:2: address 10.0.0.1 is already assigned to uid 1001 (line 1)");
}

Test(parse, adjacent_shared_ranges_are_fine)
{
        policy *p = parse_ok("1001 address 10.0.0.1 ports 1-100\n1002 address 10.0.0.1 ports 101-65535\n");

        cr_assert_eq(policy_slice_count(p), 2);
        policy_free(p);
}

Test(parse, bad_port_ranges_are_refused)
{
        const char *bad[] = { "0-10", "10-5", "1-65536", "80", "a-b", "-5", "5-", "1--2", "+1-2", "0x10-0x20" };
        char line[128];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char want[64];

                snprintf(line, sizeof(line), "1001 address 10.0.0.1 ports %s\n", bad[i]);
                snprintf(want, sizeof(want), "uoa.conf:1: bad port range '%s'", bad[i]);
                expect_error(line, want);
        }
        expect_error("1001 address 10.0.0.1 ports\n", "missing port range");
}

Test(parse, malformed_and_unassignable_addresses_are_refused)
{
        const char *unusable[] = { "0.0.0.0", "::", "127.0.0.1", "127.1.2.3", "::1", "224.0.0.1",
                                   "239.255.255.250", "ff02::1", "::ffff:10.0.0.1", "255.255.255.255" };
        char line[128];

        expect_error("1001 address 1.2.3\n", "uoa.conf:1: malformed address '1.2.3'");
        expect_error("1001 address 10.0.0.1/24\n", "malformed address '10.0.0.1/24'");
        expect_error("1001 address\n", "missing address");
        for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++) {
                snprintf(line, sizeof(line), "1001 address %s\n", unusable[i]);
                expect_error(line, "cannot be assigned");
        }
}

Test(parse, tables_are_checked)
{
        expect_error("1001 table 254\n", "uoa.conf:1: table 254 is reserved (253-255)");
        expect_error("1001 table 253\n", "table 253 is reserved");
        expect_error("1001 table 255\n", "table 255 is reserved");
        expect_error("1001 table 0\n", "bad table '0'");
        expect_error("1001 table 0x10\n", "bad table '0x10'");
        expect_error("1001 table 4294967296\n", "bad table '4294967296'");
        expect_error("1001 table -1\n", "bad table '-1'");
        expect_error("1001 table 100\n1002 table 100\n", "uoa.conf:2: table 100 is already uid 1001's");
        expect_error("#\n#\n#\n1001 table 32800\n1001 table 32801\n",
                     "uoa.conf:5: uid 1001 already has table 32800 (line 4)");
}

Test(parse, largest_table_id_is_accepted)
{
        policy *p = parse_ok("1001 table 4294967295\n");

        cr_assert_eq(policy_slice_find(p, 1001)->table, 4294967295u);
        policy_free(p);
}

Test(parse, interfaces_and_raw_are_checked)
{
        expect_error("1001 interface eth0\n1001 interface eth0\n",
                     "uoa.conf:2: uid 1001 already has interface eth0 (line 1)");
        expect_error("1001 raw\n1001 raw\n", "uoa.conf:2: uid 1001 already has raw (line 1)");
        expect_error("1001 interface 0123456789abcdef\n", "bad interface name");
        expect_error("1001 interface a/b\n", "bad interface name 'a/b'");
        expect_error("1001 interface .\n", "bad interface name '.'");
        expect_error("1001 interface ..\n", "bad interface name '..'");
        expect_error("1001 interface\n", "missing interface name");
}

Test(parse, rates_take_tc_units_1000_based)
{
        policy *p = parse_ok("1001 egress 40mbit\n1001 ingress 30000kbit\n"
                             "1002 egress 8bit\n1002 ingress 1000gbit\n1003 egress 1gbit\n");

        cr_assert_eq(policy_slice_find(p, 1001)->egress, 40000000u);
        cr_assert_eq(policy_slice_find(p, 1001)->ingress, 30000000u);
        cr_assert_eq(policy_slice_find(p, 1002)->egress, 8u);
        cr_assert_eq(policy_slice_find(p, 1002)->ingress, 1000000000000ull);
        cr_assert_eq(policy_slice_find(p, 1003)->egress, 1000000000u);
        cr_assert_eq(policy_slice_find(p, 1003)->ingress, 0, "no ingress line: not shaped");
        policy_free(p);
}

Test(parse, bad_rates_zero_and_duplicates_are_refused)
{
        expect_error("1001 egress 40\n", "uoa.conf:1: bad rate '40'");
        expect_error("1001 egress 40mbps\n", "bad rate '40mbps'");
        expect_error("1001 egress 40Mbit\n", "bad rate '40Mbit'");
        expect_error("1001 egress 1.5mbit\n", "bad rate '1.5mbit'");
        expect_error("1001 egress -1mbit\n", "bad rate '-1mbit'");
        expect_error("1001 egress mbit\n", "bad rate 'mbit'");
        expect_error("1001 egress 40kibit\n", "bad rate '40kibit'");
        expect_error("1001 ingress 0mbit\n", "uoa.conf:1: rate '0mbit' is zero");
        expect_error("1001 egress 7bit\n", "rate '7bit' is too low");
        expect_error("1001 egress 1001gbit\n", "rate '1001gbit' is too high");
        expect_error("1001 egress 99999999999999999999999bit\n", "too high");
        expect_error("1001 egress\n", "uoa.conf:1: missing rate after 'egress'");
        expect_error("1001 egress 1mbit 2mbit\n", "trailing garbage '2mbit'");
        expect_error("1001 egress 40mbit\n1001 raw\n1001 egress 50mbit\n",
                     "uoa.conf:3: uid 1001 already has egress 40mbit (line 1)");
        expect_error("1001 ingress 40mbit\n1001 ingress 40mbit\n",
                     "uoa.conf:2: uid 1001 already has ingress 40mbit (line 1)");
}

Test(parse, trailing_garbage_is_refused)
{
        expect_error("1001 raw yes\n", "uoa.conf:1: trailing garbage 'yes'");
        expect_error("1001 raw yes a b c d e\n", "uoa.conf:1: trailing garbage 'yes'");
        expect_error("1001 table 7 8\n", "trailing garbage '8'");
        expect_error("1001 address 10.0.0.1 port 1-2\n", "trailing garbage 'port'");
        expect_error("1001 address 10.0.0.1 ports 1-2 x\n", "trailing garbage 'x'");
        expect_error("1001 address 10.0.0.1 ports 1-2 x y z\n", "trailing garbage 'x'");
}

Test(parse, overlong_lines_nul_bytes_and_oversize_text_are_refused)
{
        char text[POLICY_LINE_MAX + 64];
        static const char nul[] = "1001 raw\n1002 r\0aw\n";

        memset(text, ' ', sizeof(text));
        memcpy(text, "1001 raw", 8);
        text[POLICY_LINE_MAX + 1] = '\n';
        text[POLICY_LINE_MAX + 2] = 0;
        expect_error(text, "uoa.conf:1: line is longer than 1024 bytes");
        text[POLICY_LINE_MAX] = '\n'; /* exactly POLICY_LINE_MAX bytes: fine */
        policy_free(parse_ok(text));
        expect_error_len(nul, sizeof(nul) - 1, -EINVAL, "uoa.conf:2: NUL byte");
        /* The length alone decides: the text is never read. */
        expect_error_len(nul, (size_t)POLICY_TEXT_MAX + 1, -E2BIG, "uoa.conf");
}

/* A text given as a string literal. */
#define SRC(n, t) ((policy_source){ .name = (n), .text = (t), .len = sizeof(t) - 1 })

/* The whole message of a refused text: every error, one a line, in order. */
static void expect_errors(const policy_source *srcs, size_t n, const char *want)
{
        char err[POLICY_ERR_MAX] = "";
        policy *p = NULL;
        int r = policy_parse_sources(srcs, n, fake_resolve, NULL, &p, err, sizeof(err));

        cr_assert_eq(r, -EINVAL, "got %d (%s)", r, err);
        cr_assert_null(p);
        cr_assert_str_eq(err, want);
}

Test(parse, every_error_is_reported_with_its_line)
{
        policy_source src = SRC("uoa.conf", "1001 address 10.0.0.1\n1002 address 10.0.0.1\n1001 adress 10.0.0.2\n");

        expect_errors(&src, 1, "uoa.conf:2: address 10.0.0.1 is already assigned to uid 1001 (line 1)\n"
                               "uoa.conf:3: unknown keyword 'adress'");
        src = SRC("uoa.conf", "1001 table 100\n1001 frob\n1002 table 100\nbob raw\n1001 table 100\n");
        expect_errors(&src, 1, "uoa.conf:2: unknown keyword 'frob'\n"
                               "uoa.conf:3: table 100 is already uid 1001's (line 1)\n"
                               "uoa.conf:4: unknown user 'bob'\n"
                               "uoa.conf:5: uid 1001 already has table 100 (line 1)");
}

Test(parse, a_refused_line_is_skipped_not_half_applied)
{
        /* Line 1 is refused, so line 2 does not collide with it. */
        expect_errors(&SRC("f", "1001 address 10.0.0.1 ports 5-1\n1002 address 10.0.0.1\n"), 1,
                      "f:1: bad port range '5-1'");
}

Test(parse, too_many_errors_end_with_a_count)
{
        static const char head[] = "uoa.conf:1: unknown user 'x'\nuoa.conf:2: unknown user 'x'\n";
        char err[256];
        policy *p = NULL;
        const char *text = "x\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\n";
        int r = policy_parse(text, strlen(text), "uoa.conf", fake_resolve, NULL, &p, err, sizeof(err));

        cr_assert_eq(r, -EINVAL);
        cr_assert(strncmp(err, head, sizeof(head) - 1) == 0, "%s", err);
        cr_assert_not_null(strstr(err, " more errors not shown)"), "%s", err);
        cr_assert_lt(strlen(err), sizeof(err));
        /* A buffer too small for one line still gets the first, truncated. */
        r = policy_parse(text, strlen(text), "uoa.conf", fake_resolve, NULL, &p, err, 8);
        cr_assert_str_eq(err, "uoa.con");
}

/* ---- several texts: the main file and its drop-ins -------------------------------------- */

Test(sources, drop_ins_are_one_policy_with_the_main_file)
{
        static const char whole[] = "u00 address 1.254.1.2\nu00 table 32800\n"
                                    "u11 address 10.254.1.2\nu00 address 2001:db8:1::2\n";
        policy_source srcs[] = {
                SRC("uoa.conf", "u00 address 1.254.1.2\nu00 table 32800\n"),
                SRC("uoa.conf.d/10-u11.conf", ""),
                SRC("uoa.conf.d/20-u11.conf", "# u11\nu11 address 10.254.1.2\n\nu00 address 2001:db8:1::2\n"),
        };
        char err[POLICY_ERR_MAX] = "", *a, *b;
        policy *p = NULL, *q = parse_ok(whole);

        cr_assert_eq(policy_parse_sources(srcs, 3, fake_resolve, NULL, &p, err, sizeof(err)), 0, "%s", err);
        a = policy_format(p, NULL);
        b = policy_format(q, NULL);
        cr_assert_str_eq(a, b, "the same lines in one file make the same policy");
        cr_assert_str_eq(fmt(&policy_slice_primary(policy_slice_find(p, U00), AF_INET6)->addr), "2001:db8:1::2");
        free(a);
        free(b);
        policy_free(p);
        policy_free(q);
}

Test(sources, a_conflict_across_files_names_both_files_and_lines)
{
        policy_source srcs[] = {
                SRC("/etc/uoa/uoa.conf", "u00 address 10.0.0.1\nu00 table 100\nu20 address 10.0.0.9 ports 1-100\n"),
                SRC("/etc/uoa/uoa.conf.d/u11.conf",
                    "#\nu11 address 10.0.0.1\nu11 table 100\nu21 address 10.0.0.9 ports 100-200\nu11 frob\n"),
        };

        expect_errors(srcs, 2,
                      "/etc/uoa/uoa.conf.d/u11.conf:2: address 10.0.0.1 is already assigned to uid 1000 "
                      "(/etc/uoa/uoa.conf:1)\n"
                      "/etc/uoa/uoa.conf.d/u11.conf:3: table 100 is already uid 1000's (/etc/uoa/uoa.conf:2)\n"
                      "/etc/uoa/uoa.conf.d/u11.conf:4: port range 100-200 on 10.0.0.9 overlaps uid 1020's 1-100 "
                      "(/etc/uoa/uoa.conf:3)\n"
                      "/etc/uoa/uoa.conf.d/u11.conf:5: unknown keyword 'frob'");
}

Test(sources, errors_in_several_files_are_all_reported)
{
        policy_source srcs[] = { SRC("a.conf", "u00 raw\nu00 raw\n"), SRC("b.conf", "u11 tabel 7\n") };

        expect_errors(srcs, 2, "a.conf:2: uid 1000 already has raw (line 1)\nb.conf:1: unknown keyword 'tabel'");
}

Test(sources, no_text_is_an_empty_policy_and_oversize_total_is_refused)
{
        policy_source srcs[2] = { SRC("a", ""), SRC("b", "") };
        char err[128] = "";
        policy *p = NULL;

        cr_assert_eq(policy_parse_sources(NULL, 0, NULL, NULL, &p, err, sizeof(err)), 0);
        cr_assert_eq(policy_slice_count(p), 0);
        policy_free(p);
        p = NULL;
        /* Together too large, each within bounds: refused by the lengths alone. */
        srcs[0].len = srcs[1].len = POLICY_TEXT_MAX / 2 + 1;
        cr_assert_eq(policy_parse_sources(srcs, 2, NULL, NULL, &p, err, sizeof(err)), -E2BIG);
        cr_assert_null(p);
        cr_assert_not_null(strstr(err, "larger than"), "%s", err);
}

/* ---- edits --------------------------------------------------------------------------------- */

static policy *edit(const policy *old, bool add, const char *text, int want, const char *msg)
{
        char err[512] = "";
        policy *p = NULL;
        int r = policy_edit(old, add, text, strlen(text), "uoamap", fake_resolve, NULL, &p, err, sizeof(err));

        cr_assert_eq(r, want, "edit: %d (%s)", r, err);
        if (msg)
                cr_assert_not_null(strstr(err, msg), "message '%s' lacks '%s'", err, msg);
        if (r < 0)
                cr_assert_null(p);
        return p;
}

Test(edit, add_appends_lines_and_keeps_order)
{
        policy *p = parse_ok(design_example);
        policy *q = edit(p, true, "alice address 10.9.9.9\nu11 interface eth1\n", 0, NULL);
        char *s = policy_format(q, NULL);
        const char *tail = "2000 address 10.9.9.9\n1011 interface eth1\n";

        cr_assert_eq(policy_slice_count(q), 5);
        cr_assert_str_eq(s + strlen(s) - strlen(tail), tail);
        cr_assert(policy_slice_may_use_interface(policy_slice_find(q, U11), "eth1"));
        cr_assert_not(policy_slice_may_use_interface(policy_slice_find(q, U11), "eth0"));
        cr_assert_eq(policy_slice_count(p), 4, "the old policy is unchanged");
        free(s);
        policy_free(q);
        policy_free(p);
}

Test(edit, refused_add_leaves_old_policy_usable)
{
        policy *p = parse_ok(design_example);

        edit(p, true, "alice raw\nalice address 133.69.37.10 ports 10999-11000\n", -EINVAL,
             "uoamap:2: port range 10999-11000 on 133.69.37.10 overlaps uid 1020's 10000-10999");
        edit(p, true, "alice address 1.254.1.2\n", -EINVAL,
             "uoamap:1: address 1.254.1.2 is already assigned to uid 1000");
        edit(p, true, "alice table 32811\n", -EINVAL, "uoamap:1: table 32811 is already uid 1011's");
        edit(p, true, "u00 table 5\n", -EINVAL, "uoamap:1: uid 1000 already has table 32800");
        edit(p, true, "alice tabel 5\n", -EINVAL, "uoamap:1: unknown keyword 'tabel'");
        cr_assert_eq(policy_address_owner(p, &(uoa_addr){ .family = AF_INET, .bytes = { 1, 254, 1, 2 } },
                                          0, NULL),
                     policy_slice_find(p, U00));
        cr_assert_eq(policy_slice_count(p), 4);
        policy_free(p);
}

Test(edit, del_removes_normalised_matches_and_empty_slices)
{
        policy *p = parse_ok(design_example);
        policy *q = edit(p, false, "1020 address 133.69.37.10 ports 10000-10999\n"
                                   "u00 address 2001:DB8:1:0:0::2\n", 0, NULL);
        bool shared;

        cr_assert_eq(policy_slice_count(q), 3, "u20 had no other line");
        cr_assert_null(policy_slice_find(q, U20));
        cr_assert_null(policy_slice_primary(policy_slice_find(q, U00), AF_INET6));
        cr_assert_null(policy_address_owner(q, &(uoa_addr){ .family = AF_INET, .bytes = { 133, 69, 37, 10 } },
                                            10500, &shared));
        cr_assert(shared, "u21 still shares the address");
        /* The freed range can be given to someone else now. */
        policy_free(edit(q, true, "alice address 133.69.37.10 ports 10000-10999\n", 0, NULL));
        policy_free(q);
        policy_free(p);
}

Test(edit, del_of_a_missing_assignment_is_enoent)
{
        policy *p = parse_ok(design_example);

        edit(p, false, "u20 address 133.69.37.10 ports 10000-10998\n", -ENOENT,
             "uoamap:1: no such assignment: 1020 address 133.69.37.10 ports 10000-10998");
        edit(p, false, "u00 table 32801\n", -ENOENT, "no such assignment: 1000 table 32801");
        edit(p, false, "u00 raw\nu00 raw\n", -ENOENT, "uoamap:2: no such assignment: 1000 raw");
        edit(p, false, "u11 raw\n", -ENOENT, "no such assignment");
        edit(p, false, "u11 raw\nu00 raw\nu21 raw\n", -ENOENT,
             "uoamap:1: no such assignment: 1011 raw\nuoamap:3: no such assignment: 1021 raw");
        cr_assert(policy_slice_find(p, U00)->raw);
        policy_free(p);
}

Test(edit, a_rate_changes_by_del_then_add_and_del_must_name_the_rate)
{
        policy *p = parse_ok("1001 address 10.0.0.1\n1001 egress 40mbit\n");
        policy *q, *r;

        edit(p, true, "1001 egress 50mbit\n", -EINVAL, "uoamap:1: uid 1001 already has egress 40mbit");
        edit(p, false, "1001 egress 50mbit\n", -ENOENT, "no such assignment: 1001 egress 50mbit");
        q = edit(p, false, "1001 egress 40000kbit\n", 0, NULL);
        cr_assert_eq(policy_slice_find(q, 1001)->egress, 0);
        r = edit(q, true, "1001 egress 50mbit\n", 0, NULL);
        cr_assert_eq(policy_slice_find(r, 1001)->egress, 50000000u);
        policy_free(r);
        policy_free(q);
        policy_free(p);
}

Test(edit, edits_start_from_nothing)
{
        policy *q = edit(NULL, true, "u00 address 10.0.0.1\n", 0, NULL);

        cr_assert_eq(policy_slice_count(q), 1);
        policy_free(q);
}
