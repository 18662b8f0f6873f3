/* tests/test_policy_decide.c: unit tests of policy/policy_decide.c: the
 * §4 bind decision and shared-address port mapping as a slice notices them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/policytest.h"

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
