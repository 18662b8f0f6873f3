/* tests/test_policy_shape.c: unit tests of policy/policy_shape.c, the
 * shaping plan: class numbers, the interfaces a rate applies on, HTB
 * parameters and the destination keys of incoming traffic. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/policy_shape.h"
#include "tests/policytest.h"

static policy_shape build(const policy *p)
{
        policy_shape sh;

        cr_assert_eq(policy_shape_build(p, &sh), 0);
        return sh;
}

Test(shape, only_slices_with_a_rate_get_a_class_numbered_by_uid)
{
        policy *p = parse_ok("1001 egress 40mbit\n1002 address 10.0.0.2\n1003 ingress 30mbit\n");
        policy_shape sh = build(p);

        cr_assert_eq(sh.n, 2);
        cr_assert_eq(sh.v[0].slice->uid, 1001);
        cr_assert_eq(sh.v[0].minor, 1001);
        cr_assert_eq(sh.v[1].minor, 1003);
        cr_assert_eq(policy_shape_find_minor(&sh, 1003), &sh.v[1]);
        cr_assert_null(policy_shape_find_minor(&sh, 1002));
        policy_shape_done(&sh);
        policy_free(p);
}

/* Uids past 16 bits (and uid 0) cannot be their minor: they probe from
 * uid % 0xfffe + 1, never take 0 or the default class, never collide. */
Test(shape, large_uids_get_distinct_free_minors_never_the_default)
{
        policy *p = parse_ok("0 egress 1mbit\n65535 egress 1mbit\n65536 egress 1mbit\n"
                             "131070 egress 1mbit\n1 egress 1mbit\n2 egress 1mbit\n");
        policy_shape sh = build(p);
        bool seen[0x10000] = {};

        cr_assert_eq(sh.n, 6);
        for (size_t i = 0; i < sh.n; i++) {
                uint16_t m = sh.v[i].minor;

                cr_expect(m != 0 && m != POLICY_SHAPE_DEFAULT, "uid %u got minor %x", sh.v[i].slice->uid, m);
                cr_expect_not(seen[m], "minor %x twice", m);
                seen[m] = true;
        }
        cr_assert_eq(sh.v[1].minor, 1, "uid 1 keeps its own minor");
        cr_assert_eq(sh.v[2].minor, 2, "uid 2 keeps its own minor");
        policy_shape_done(&sh);
        policy_free(p);
}

Test(shape, a_slice_keeps_its_class_when_others_come_and_go)
{
        policy *p = parse_ok("1001 egress 40mbit\n1005 egress 50mbit\n");
        policy *q = parse_ok("1000 egress 1mbit\n1005 egress 50mbit\n1009 ingress 5mbit\n");
        policy_shape a = build(p), b = build(q);

        cr_assert_eq(a.v[1].minor, 1005);
        cr_assert_eq(b.v[1].minor, 1005);
        policy_shape_done(&a);
        policy_shape_done(&b);
        policy_free(p);
        policy_free(q);
}

Test(shape, rates_apply_on_the_slices_interfaces_never_on_lo_or_an_ifb)
{
        policy *p = parse_ok("1001 egress 40mbit\n1002 egress 10mbit\n1002 interface eth1\n"
                             "1003 ingress 7mbit\n1004 address 10.0.0.4\n");
        policy_shape sh = build(p);

        cr_assert_eq(policy_shape_classes(&sh, "eth0", false, NULL, NULL), 1, "1001 only: 1002 lists eth1");
        cr_assert_eq(policy_shape_classes(&sh, "eth1", false, NULL, NULL), 2);
        cr_assert_eq(policy_shape_classes(&sh, "eth1", true, NULL, NULL), 1, "1003's ingress, any interface");
        cr_assert_eq(policy_shape_classes(&sh, "lo", false, NULL, NULL), 0);
        cr_assert_eq(policy_shape_classes(&sh, "lo", true, NULL, NULL), 0);
        cr_assert_eq(policy_shape_classes(&sh, POLICY_SHAPE_IFB_PREFIX "3", false, NULL, NULL), 0);
        cr_assert(policy_shape_interface_exempt("lo"));
        cr_assert_not(policy_shape_interface_exempt("eth0"));
        policy_shape_done(&sh);
        policy_free(p);
}

Test(shape, htb_burst_covers_gso_packets_and_ten_milliseconds)
{
        policy_shape_htb h;

        policy_shape_htb_params(40000000, &h);
        cr_assert_eq(h.rate, 5000000);
        cr_assert_eq(h.burst, 4 * 65536, "10 ms of 40mbit is less than four GSO packets");
        cr_assert_eq(h.quantum, 200000);
        policy_shape_htb_params(10000000000ull, &h);
        cr_assert_eq(h.rate, 1250000000ull);
        cr_assert_eq(h.burst, 12500000, "10 ms at 10gbit");
        policy_shape_htb_params(8, &h);
        cr_assert_eq(h.rate, 1);
        cr_assert_eq(h.quantum, 1514);
}

static void check_blocks(uint16_t lo, uint16_t hi)
{
        uint16_t port[32], mask[32];
        size_t n = policy_shape_port_blocks(lo, hi, port, mask);
        static bool covered[0x10000];

        memset(covered, 0, sizeof(covered));
        cr_assert_leq(n, 32);
        for (size_t i = 0; i < n; i++) {
                cr_assert_eq(port[i] & ~mask[i] & 0xffff, 0, "block %x/%x is not aligned", port[i], mask[i]);
                for (uint32_t q = 0; q < 0x10000; q++)
                        if ((q & mask[i]) == port[i]) {
                                cr_assert_not(covered[q], "port %u in two blocks", q);
                                covered[q] = true;
                        }
        }
        for (uint32_t q = 0; q < 0x10000; q++)
                cr_assert_eq(covered[q], q >= lo && q <= hi, "%u-%u: port %u", lo, hi, q);
}

Test(shape, port_blocks_cover_exactly_the_range)
{
        uint16_t port[32], mask[32];

        check_blocks(10000, 10999);
        check_blocks(1, 65535);
        check_blocks(1024, 2047);
        check_blocks(7, 7);
        check_blocks(65535, 65535);
        cr_assert_eq(policy_shape_port_blocks(1024, 2047, port, mask), 1);
        cr_assert_eq(mask[0], 0xfc00);
}

static void count_key(const policy_shape_slice *ss, const policy_shape_key *k, void *userdata)
{
        (void) ss;
        (void) k;
        ++*(size_t *) userdata;
}

Test(shape, incoming_keys_are_the_slices_addresses_and_port_blocks)
{
        policy *p = parse_ok("1001 address 10.0.0.1\n1001 address fd00::1\n1001 ingress 5mbit\n"
                             "1002 address 10.0.0.20 ports 1024-2047\n1002 ingress 5mbit\n");
        policy_shape sh = build(p);
        size_t n = 0;

        cr_assert_eq(policy_shape_keys(&sh.v[0], count_key, &n), 2);
        cr_assert_eq(n, 2);
        cr_assert_eq(policy_shape_keys(&sh.v[1], NULL, NULL), 1);
        policy_shape_done(&sh);
        policy_free(p);
}
