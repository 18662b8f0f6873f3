/* tests/test_policy_plan.c: unit tests of policy/policy_plan.c, the nft
 * script of the kernel guard: its exact text for a known policy, the
 * properties the guard's security rests on (no accept of a slice's packet
 * without a source check, loopback sources only through lo, the interface
 * list sparing lo), and that nft itself accepts the script. */
#include <criterion/criterion.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"

/* Two dedicated slices (b with an interface list) and two sharing an address. */
static const char world[] = "a address 10.0.0.11\n"
                            "a address fd00::11\n"
                            "a table 100\n"
                            "b address 10.0.0.12\n"
                            "b interface veth0\n"
                            "b interface tun0\n"
                            "s1 address 10.0.0.20 ports 10000-10999\n"
                            "s1 address fd00::20 ports 10000-10999\n"
                            "s2 address 10.0.0.20 ports 11000-11999\n";
/* The same with rates: a shaped by egress, b by ingress only, s1 by both. */
static const char shaped[] = "a address 10.0.0.11\n"
                             "a egress 40mbit\n"
                             "b address 10.0.0.12\n"
                             "b ingress 30mbit\n"
                             "s1 address 10.0.0.20 ports 10000-10999\n"
                             "s1 egress 1gbit\n"
                             "s1 ingress 1gbit\n"
                             "s2 address 10.0.0.20 ports 11000-11999\n";

#define RULES_MAX 32
#define RULE_LEN 256

static int fake_resolve(const char *name, uid_t *ret_uid, void *userdata)
{
        static const struct { const char *name; uid_t uid; } users[] = {
                { "a", 1001 }, { "b", 1002 }, { "s1", 1003 }, { "s2", 1004 },
        };

        (void) userdata;
        for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
                if (strcmp(users[i].name, name) == 0) {
                        *ret_uid = users[i].uid;
                        return 0;
                }
        return -ENOENT;
}

static char *plan_of(const char *text)
{
        char err[256] = "";
        policy *p = NULL;
        char *script;

        cr_assert_eq(policy_parse(text, strlen(text), "uoa.conf", fake_resolve, NULL, &p, err, sizeof(err)), 0,
                     "parse: %s", err);
        script = policy_plan_nft(p);
        policy_free(p);
        cr_assert_not_null(script);
        return script;
}

/* The rules of chain output, in order, without the chain's type line. */
static size_t chain_rules(const char *script, char rules[RULES_MAX][RULE_LEN])
{
        const char *p = strstr(script, "chain output {\n");
        size_t n = 0;

        cr_assert_not_null(p, "no output chain in:\n%s", script);
        p = strchr(p, '\n') + 1;
        while (*p && strncmp(p, "  }", 3) != 0) {
                const char *end = strchr(p, '\n');
                size_t len = (size_t) (end - p);

                cr_assert_not_null(end);
                cr_assert_lt(n, RULES_MAX);
                cr_assert_lt(len, RULE_LEN);
                while (*p == ' ')
                        p++, len--;
                memcpy(rules[n], p, len);
                rules[n][len] = '\0';
                if (strncmp(rules[n], "type filter", 11) != 0)
                        n++;
                p = end + 1;
        }
        return n;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

Test(plan, golden_text_for_dedicated_shared_and_interface_slices)
{
        static const char want[] =
                "table inet uoa {}\n"
                "delete table inet uoa\n"
                "table inet uoa {\n"
                "  set slices { type uid; elements = { 1001, 1002, 1003, 1004 } }\n"
                "  set ifslices { type uid; elements = { 1002 } }\n"
                "  set ifaces { type uid . ifname; elements = { 1002 . \"veth0\", 1002 . \"tun0\" } }\n"
                "  set addr4 { type uid . ipv4_addr; elements = { 1001 . 10.0.0.11, 1002 . 10.0.0.12 } }\n"
                "  set addr6 { type uid . ipv6_addr; elements = { 1001 . fd00::11 } }\n"
                "  set port4 { type uid . ipv4_addr . inet_service; flags interval; elements = "
                "{ 1003 . 10.0.0.20 . 10000-10999, 1004 . 10.0.0.20 . 11000-11999 } }\n"
                "  set port6 { type uid . ipv6_addr . inet_service; flags interval; elements = "
                "{ 1003 . fd00::20 . 10000-10999 } }\n"
                "  set portless4 { type uid . ipv4_addr; elements = { 1003 . 10.0.0.20, 1004 . 10.0.0.20 } }\n"
                "  set portless6 { type uid . ipv6_addr; elements = { 1003 . fd00::20 } }\n"
                "  map shape { type uid : classid; }\n"
                "  chain output {\n"
                "    type filter hook output priority filter; policy accept;\n"
                "    meta priority set meta skuid map @shape\n"
                "    meta skuid != @slices accept\n"
                "    oif \"lo\" ip saddr 127.0.0.0/8 accept\n"
                "    oif \"lo\" ip6 saddr ::1 accept\n"
                "    oif != \"lo\" meta skuid @ifslices meta skuid . oifname != @ifaces counter drop\n"
                "    meta skuid . ip saddr @addr4 accept\n"
                "    meta skuid . ip6 saddr @addr6 accept\n"
                "    meta l4proto { tcp, udp, udplite, sctp, dccp } meta skuid . ip saddr . th sport @port4 accept\n"
                "    meta l4proto { tcp, udp, udplite, sctp, dccp } meta skuid . ip6 saddr . th sport @port6 accept\n"
                "    meta l4proto != { tcp, udp, udplite, sctp, dccp } meta skuid . ip saddr @portless4 accept\n"
                "    meta l4proto != { tcp, udp, udplite, sctp, dccp } meta skuid . ip6 saddr @portless6 accept\n"
                "    meta skuid @slices counter drop\n"
                "  }\n"
                "}\n";
        char *got = plan_of(world);

        cr_assert_str_eq(got, want);
        free(got);
}

/* The hole of issue 19: `oif "lo" accept` let any source reach local
 * receivers. Past the first rule (other uids), nothing is accepted without a
 * look at the source address, on lo as anywhere. */
Test(plan, no_slice_packet_is_accepted_without_a_source_check)
{
        char rules[RULES_MAX][RULE_LEN], *script = plan_of(world);
        size_t n = chain_rules(script, rules);

        cr_assert_gt(n, 3);
        cr_assert_str_eq(rules[0], "meta priority set meta skuid map @shape");
        cr_assert_str_eq(rules[1], "meta skuid != @slices accept");
        for (size_t i = 2; i < n; i++)
                if (ends_with(rules[i], "accept"))
                        cr_expect(strstr(rules[i], " saddr ") != NULL, "rule %zu accepts any source: %s", i,
                                  rules[i]);
        cr_assert_str_eq(rules[n - 1], "meta skuid @slices counter drop");
        free(script);
}

/* 127/8 and ::1 are accepted only on lo: a raw packet claiming them on a wire
 * interface is dropped like any other foreign source. */
Test(plan, loopback_sources_are_accepted_through_lo_only)
{
        char rules[RULES_MAX][RULE_LEN], *script = plan_of(world);
        size_t n = chain_rules(script, rules), seen = 0;

        for (size_t i = 0; i < n; i++) {
                if (!strstr(rules[i], "127.0.0.0/8") && !strstr(rules[i], "::1 "))
                        continue;
                cr_expect(strncmp(rules[i], "oif \"lo\" ", 9) == 0, "loopback source off lo: %s", rules[i]);
                seen++;
        }
        cr_assert_eq(seen, 2, "want one IPv4 and one IPv6 loopback rule");
        free(script);
}

/* A slice with an interface list still has loopback: the interface check
 * skips lo, and comes before every source accept (so it cannot be bypassed
 * by a correct source on a forbidden interface). */
Test(plan, interface_list_restricts_every_interface_but_lo)
{
        char rules[RULES_MAX][RULE_LEN], *script = plan_of(world);
        size_t n = chain_rules(script, rules), at = n;

        for (size_t i = 0; i < n; i++)
                if (strstr(rules[i], "@ifaces"))
                        at = i;
        cr_assert_lt(at, n, "no interface rule");
        cr_expect(strncmp(rules[at], "oif != \"lo\" ", 12) == 0, "interface rule covers lo: %s", rules[at]);
        for (size_t i = 0; i < at; i++)
                cr_expect(!strstr(rules[i], "@addr") && !strstr(rules[i], "@port"),
                          "source accept before the interface rule: %s", rules[i]);
        free(script);
}

Test(plan, without_slices_the_sets_are_empty_and_everyone_is_accepted_first)
{
        char rules[RULES_MAX][RULE_LEN], *script = plan_of("");

        cr_expect(strstr(script, "  set slices { type uid; }\n") != NULL, "%s", script);
        cr_expect(strstr(script, "elements") == NULL, "%s", script);
        chain_rules(script, rules);
        cr_assert_str_eq(rules[1], "meta skuid != @slices accept");
        free(script);
}

/* Egress shaping: the slices with an egress rate, and only they, get their
 * class as skb->priority, before anything may accept their packet. */
Test(plan, egress_slices_map_to_their_class_before_any_accept)
{
        char rules[RULES_MAX][RULE_LEN], *script = plan_of(shaped);

        cr_expect(strstr(script, "  map shape { type uid : classid; elements = { 1001 : 7561:3e9, 1003 : 7561:3eb } }\n"),
                  "%s", script);
        chain_rules(script, rules);
        cr_assert_str_eq(rules[0], "meta priority set meta skuid map @shape");
        free(script);
}

Test(plan, remove_script_deletes_only_the_uoa_table)
{
        char *got = policy_plan_nft_remove();

        cr_assert_str_eq(got, "table inet uoa {}\ndelete table inet uoa\n");
        free(got);
}

/* nft's own parser and evaluator on the planned script, without committing
 * (dry run). The cache it reads first needs CAP_NET_ADMIN. */
Test(plan, nft_accepts_the_planned_script)
{
        struct nft_ctx *ctx;
        char *script;
        int r;

        if (geteuid() != 0)
                cr_skip_test("needs root: nft's dry run reads the kernel's ruleset first");
        for (int i = 0; i < 2; i++) {
                script = plan_of(i ? shaped : world);
                ctx = nft_ctx_new(NFT_CTX_DEFAULT);
                cr_assert_not_null(ctx);
                nft_ctx_set_dry_run(ctx, true);
                nft_ctx_buffer_error(ctx);
                r = nft_run_cmd_from_buffer(ctx, script);
                cr_expect_eq(r, 0, "nft refused the plan: %s", nft_ctx_get_error_buffer(ctx));
                nft_ctx_free(ctx);
                free(script);
        }
}

static policy *parse_of(const char *text)
{
        char err[256] = "";
        policy *p = NULL;

        cr_assert_eq(policy_parse(text, strlen(text), "uoa.conf", fake_resolve, NULL, &p, err, sizeof(err)), 0,
                     "parse: %s", err);
        return p;
}

static char *update_of(const char *old_text, const char *new_text)
{
        policy *o = parse_of(old_text), *p = parse_of(new_text);
        char *script = policy_plan_nft_update(o, p);

        policy_free(o);
        policy_free(p);
        cr_assert_not_null(script);
        return script;
}

Test(plan, update_of_an_unchanged_policy_is_empty)
{
        char *got = update_of(world, world);

        cr_assert_str_eq(got, "");
        free(got);
}

/* A reload touches only the changed slices' elements: nothing of a, b, s2. */
Test(plan, update_adds_and_deletes_only_what_changed)
{
        char new_world[sizeof(world) + 128], *got;

        snprintf(new_world, sizeof(new_world), "%s", world);
        /* s1 loses its IPv6 range; a new slice 7 with an interface arrives. */
        *strstr(new_world, "s1 address fd00::20") = '#';
        strcat(new_world, "7 address 10.0.0.7\n7 interface eth1\n");
        got = update_of(world, new_world);
        cr_assert_str_eq(got, "add element inet uoa slices { 7 }\n"
                              "add element inet uoa ifslices { 7 }\n"
                              "add element inet uoa ifaces { 7 . \"eth1\" }\n"
                              "add element inet uoa addr4 { 7 . 10.0.0.7 }\n"
                              "delete element inet uoa port6 { 1003 . fd00::20 . 10000-10999 }\n"
                              "delete element inet uoa portless6 { 1003 . fd00::20 }\n");
        free(got);
}

Test(plan, update_deletes_a_removed_slice_entirely)
{
        char *got = update_of("a address 10.0.0.11\nb address 10.0.0.12\nb interface veth0\n",
                              "a address 10.0.0.11\n");

        cr_assert_str_eq(got, "delete element inet uoa slices { 1002 }\n"
                              "delete element inet uoa ifslices { 1002 }\n"
                              "delete element inet uoa ifaces { 1002 . \"veth0\" }\n"
                              "delete element inet uoa addr4 { 1002 . 10.0.0.12 }\n");
        free(got);
}

/* Rates: a slice that gains an egress rate enters the shape map, one that
 * loses it leaves; a changed rate keeps its class (the map is unchanged). */
Test(plan, update_carries_the_shape_map)
{
        char *got = update_of("a address 10.0.0.11\nb address 10.0.0.12\nb egress 10mbit\n",
                              "a address 10.0.0.11\na egress 40mbit\nb address 10.0.0.12\n");

        cr_assert_str_eq(got, "delete element inet uoa shape { 1002 }\n"
                              "add element inet uoa shape { 1001 : 7561:3e9 }\n");
        free(got);
        got = update_of("a address 10.0.0.11\na egress 40mbit\n", "a address 10.0.0.11\na egress 20mbit\n");
        cr_assert_str_eq(got, "");
        free(got);
}
