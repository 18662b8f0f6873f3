/* tests/test_policy.c: unit tests of policy/: parsing and its error
 * messages, edits, formatting, lookups, and the §4 decisions (bind, port
 * mapping, source selection) as a slice would notice them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"

static const char design_example[] =
        "u00 address 1.254.1.2\n"
        "u00 address 2001:db8:1::2\n"
        "u00 table 32800\n"
        "u00 interface tun0\n"
        "u00 raw\n"
        "u11 address 10.254.1.2\n"
        "u11 address 10.1.3.1\n"
        "u11 table 32811\n"
        "u20 address 133.69.37.10 ports 10000-10999\n"
        "u21 address 133.69.37.10 ports 11000-11999\n";

#define U00 1000
#define U11 1011
#define U20 1020
#define U21 1021

static int fake_resolve(const char *name, uid_t *ret_uid, void *userdata)
{
        static const struct { const char *name; uid_t uid; } users[] = {
                { "u00", U00 }, { "u11", U11 }, { "u20", U20 }, { "u21", U21 }, { "alice", 2000 },
        };

        (void)userdata;
        for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
                if (strcmp(users[i].name, name) == 0) {
                        *ret_uid = users[i].uid;
                        return 0;
                }
        return -ENOENT;
}

static policy *parse_ok(const char *text)
{
        char err[512] = "";
        policy *p = NULL;
        int r = policy_parse(text, strlen(text), "uoa.conf", fake_resolve, NULL, &p, err, sizeof(err));

        cr_assert_eq(r, 0, "parse failed: %d %s", r, err);
        cr_assert_not_null(p);
        return p;
}

/* Parsing fails with errno r and a message containing want; nothing returned. */
static void expect_error_len(const char *text, size_t len, int r, const char *want)
{
        static policy *const untouched = (policy *)&untouched;
        char err[512] = "";
        policy *p = untouched;
        int got = policy_parse(text, len, "uoa.conf", fake_resolve, NULL, &p, err, sizeof(err));

        cr_assert_eq(got, r, "got %d (%s), want %d for:\n%s", got, err, r, text);
        cr_assert_eq(p, untouched, "*ret written on failure");
        cr_assert_not_null(strstr(err, want), "message '%s' lacks '%s'", err, want);
}

static void expect_error(const char *text, const char *want)
{
        expect_error_len(text, strlen(text), -EINVAL, want);
}

static uoa_addr A(const char *s)
{
        uoa_addr a;

        cr_assert_eq(uoa_addr_parse(s, &a), 0, "parse %s", s);
        return a;
}

static const char *fmt(const uoa_addr *a)
{
        static char buf[4][UOA_ADDR_STRLEN];
        static int i;

        return uoa_addr_format(a, buf[i++ % 4], UOA_ADDR_STRLEN);
}

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

Test(parse, first_error_wins)
{
        expect_error("1001 table 100\n1001 frob\n1002 table 100\n", "uoa.conf:2: unknown keyword 'frob'");
}

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
        }
        free(s);
        free(t);
        policy_free(p);
        policy_free(q);
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
        cr_assert(policy_slice_find(p, U00)->raw);
        policy_free(p);
}

Test(edit, edits_start_from_nothing)
{
        policy *q = edit(NULL, true, "u00 address 10.0.0.1\n", 0, NULL);

        cr_assert_eq(policy_slice_count(q), 1);
        policy_free(q);
}

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

/* ---- bind ------------------------------------------------------------------------------------ */

Test(ports, shared_port_mapping_follows_section_4)
{
        cr_assert_eq(policy_port_map(10000, 10999, 22), 10022);
        cr_assert_eq(policy_port_map(10000, 10999, 10500), 10500);
        cr_assert_eq(policy_port_map(10000, 10999, 999), 10999);
        cr_assert_eq(policy_port_map(10000, 10999, 0), 0);
        cr_assert_eq(policy_port_map(10000, 10999, 1000), -EACCES);
        cr_assert_eq(policy_port_map(10000, 10999, 11000), -EACCES);
        cr_assert_eq(policy_port_map(10000, 10999, 9999), -EACCES);
        cr_assert_eq(policy_port_map(10000, 10000, 1), -EACCES);
        cr_assert_eq(policy_port_map(1, 1000, 22), 22, "inside the range wins over mapping");
}

Test(ports, candidates_visit_every_port_once)
{
        static bool seen[65536];
        const uint16_t ranges[][2] = { { 10000, 10999 }, { 7, 7 }, { 1, 65535 }, { 60000, 65535 } };

        for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
                uint32_t lo = ranges[r][0], hi = ranges[r][1];

                memset(seen, 0, sizeof(seen));
                for (uint32_t k = 0; k <= hi - lo; k++) {
                        uint16_t c = policy_port_candidate((uint16_t)lo, (uint16_t)hi, 0xdeadbeef + (uint32_t)r, k);

                        cr_assert(c >= lo && c <= hi, "%u outside %u-%u", c, lo, hi);
                        cr_assert_not(seen[c], "port %u visited twice", c);
                        seen[c] = true;
                }
        }
        cr_assert_neq(policy_port_candidate(10000, 10999, 1, 0), policy_port_candidate(10000, 10999, 2, 0),
                      "different seeds start at different ports");
}

static policy_bind bind_ok(const policy_slice *s, int fam, bool v6only, const char *addr, uint16_t port)
{
        policy_bind b = {};
        uoa_addr a = A(addr);
        int r = policy_bind_decide(s, fam, v6only, &a, port, 1024, &b);

        cr_assert_eq(r, 0, "bind %s:%u: %d", addr, port, r);
        return b;
}

static void bind_fails(const policy_slice *s, int fam, bool v6only, const char *addr, uint16_t port, int want)
{
        policy_bind b = { .port = 4242 };
        uoa_addr a = A(addr);

        cr_assert_eq(policy_bind_decide(s, fam, v6only, &a, port, 1024, &b), want, "bind %s:%u", addr, port);
        cr_assert_eq(b.port, 4242, "untouched on failure");
}

Test(bind, wildcard_gets_primary_address_with_all_ports_when_dedicated)
{
        policy *p = parse_ok(design_example);
        const policy_slice *u11 = policy_slice_find(p, U11);
        policy_bind b = bind_ok(u11, AF_INET, false, "0.0.0.0", 179);

        cr_assert_str_eq(fmt(&b.addr), "10.254.1.2");
        cr_assert_eq(b.port, 179);
        cr_assert_eq(b.lo, 0);
        cr_assert_eq(b.hi, 0);
        b = bind_ok(u11, AF_INET, false, "10.1.3.1", 22);
        cr_assert_str_eq(fmt(&b.addr), "10.1.3.1");
        cr_assert_eq(b.port, 22);
        policy_free(p);
}

Test(bind, shared_address_ports_are_mapped_into_the_range)
{
        policy *p = parse_ok(design_example);
        const policy_slice *u20 = policy_slice_find(p, U20);
        policy_bind b = bind_ok(u20, AF_INET, false, "0.0.0.0", 22);

        cr_assert_str_eq(fmt(&b.addr), "133.69.37.10");
        cr_assert_eq(b.port, 10022);
        cr_assert_eq(b.lo, 10000);
        cr_assert_eq(b.hi, 10999);
        b = bind_ok(u20, AF_INET, false, "133.69.37.10", 0);
        cr_assert_eq(b.port, 0);
        cr_assert_eq(b.lo, 10000);
        bind_fails(u20, AF_INET, false, "133.69.37.10", 11000, -EACCES);
        bind_fails(u20, AF_INET, false, "0.0.0.0", 1000, -EACCES);
        policy_free(p);
}

Test(bind, addresses_of_others_are_not_available)
{
        policy *p = parse_ok(design_example);
        const policy_slice *u00 = policy_slice_find(p, U00), *u20 = policy_slice_find(p, U20);

        bind_fails(u00, AF_INET, false, "10.254.1.2", 80, -EADDRNOTAVAIL);
        bind_fails(u00, AF_INET, false, "192.0.2.1", 80, -EADDRNOTAVAIL);
        bind_fails(u00, AF_INET6, false, "2001:db8:1::3", 80, -EADDRNOTAVAIL);
        bind_fails(u20, AF_INET6, true, "::", 80, -EADDRNOTAVAIL);
        policy_free(p);
}

Test(bind, dual_stack_wildcard_prefers_ipv6_then_mapped_ipv4)
{
        policy *p = parse_ok(design_example);
        const policy_slice *u00 = policy_slice_find(p, U00), *u11 = policy_slice_find(p, U11);
        policy_bind b = bind_ok(u00, AF_INET6, false, "::", 80);

        cr_assert_str_eq(fmt(&b.addr), "2001:db8:1::2");
        b = bind_ok(u11, AF_INET6, false, "::", 80);
        cr_assert_eq(b.addr.family, AF_INET, "IPv4 on an AF_INET6 socket means v4-mapped");
        cr_assert_str_eq(fmt(&b.addr), "10.254.1.2");
        bind_fails(u11, AF_INET6, true, "::", 80, -EADDRNOTAVAIL);
        policy_free(p);
}

Test(bind, mapped_requests_and_family_mismatches)
{
        policy *p = parse_ok(design_example);
        const policy_slice *u11 = policy_slice_find(p, U11), *u00 = policy_slice_find(p, U00);
        policy_bind b = bind_ok(u11, AF_INET6, false, "::ffff:10.1.3.1", 80);

        cr_assert_eq(b.addr.family, AF_INET);
        cr_assert_str_eq(fmt(&b.addr), "10.1.3.1");
        b = bind_ok(u11, AF_INET6, false, "10.1.3.1", 80);
        cr_assert_str_eq(fmt(&b.addr), "10.1.3.1");
        b = bind_ok(u11, AF_INET6, false, "::ffff:0.0.0.0", 80);
        cr_assert_str_eq(fmt(&b.addr), "10.254.1.2");
        /* As Linux: a v4-mapped address on a v6only socket is EINVAL. */
        bind_fails(u11, AF_INET6, true, "10.1.3.1", 80, -EINVAL);
        bind_fails(u00, AF_INET, false, "2001:db8:1::2", 80, -EAFNOSUPPORT);
        bind_fails(u00, AF_INET, false, "::", 80, -EAFNOSUPPORT);
        bind_fails(u11, AF_INET, false, "::ffff:10.1.3.1", 80, -EAFNOSUPPORT);
        policy_free(p);
}

Test(bind, loopback_works_like_an_ordinary_host)
{
        policy *p = parse_ok(design_example);
        const policy_slice *u20 = policy_slice_find(p, U20);
        policy_bind b = bind_ok(u20, AF_INET, false, "127.0.0.1", 8080);

        cr_assert_str_eq(fmt(&b.addr), "127.0.0.1");
        cr_assert_eq(b.port, 8080, "no mapping on loopback");
        cr_assert_eq(b.lo, 0);
        bind_ok(u20, AF_INET, false, "127.0.0.1", 0);
        bind_ok(u20, AF_INET6, false, "::1", 1024);
        bind_ok(u20, AF_INET6, false, "::ffff:127.0.0.53", 5353);
        bind_fails(u20, AF_INET, false, "127.0.0.1", 80, -EACCES);
        bind_fails(u20, AF_INET6, false, "::1", 1023, -EACCES);
        policy_free(p);
}

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
