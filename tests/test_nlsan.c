/* tests/test_nlsan.c: unit tests of netlink-proxy/'s sanitizer (what a
 * slice's rtnetlink requests become, or why they are refused) and its error
 * and done answers; the rewriter's are in test_nlrewrite.c. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/lwtunnel.h>
#include <linux/rtnetlink.h>

#include "netlink-proxy/nlproxy.h"
#include "tests/nltest.h"

TestSuite(route, .init = setup, .fini = teardown);
TestSuite(dump, .init = setup, .fini = teardown);
TestSuite(lookup, .init = setup, .fini = teardown);
TestSuite(types, .init = setup, .fini = teardown);
TestSuite(answer, .init = setup, .fini = teardown);

/* ---- building requests -------------------------------------------------------------------- */

static struct nlmsghdr *msg_start(void *buf, uint16_t type, uint16_t flags)
{
        struct nlmsghdr *nlh;

        memset(buf, 0, OUT_CAP);
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = SEQ;
        nlh->nlmsg_pid = 0;
        return nlh;
}

static struct nlmsghdr *route_msg(uint16_t type, uint8_t family, uint8_t table, uint8_t rtype)
{
        struct nlmsghdr *nlh = msg_start(req_buf, type, NLM_F_ACK | (type == RTM_NEWROUTE ? NLM_F_CREATE : 0));
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

        rtm->rtm_family = family;
        rtm->rtm_dst_len = family == AF_INET ? 24 : 64;
        rtm->rtm_table = table;
        rtm->rtm_protocol = RTPROT_BOOT;
        rtm->rtm_type = rtype;
        return nlh;
}

static struct nlmsghdr *new_v4(void)
{
        return route_msg(RTM_NEWROUTE, AF_INET, RT_TABLE_MAIN, RTN_UNICAST);
}

static struct rtmsg *rtm_of(struct nlmsghdr *nlh)
{
        return mnl_nlmsg_get_payload(nlh);
}

/* ---- running the sanitizer ----------------------------------------------------------------- */

static nlsan_verdict run_cap(const nl_view *v, const struct nlmsghdr *req, size_t cap)
{
        nlsan_verdict vd;

        memset(out_buf, 0xaa, sizeof(out_buf));
        cr_assert_eq(nlsan_request(v, req, req->nlmsg_len, (struct nlmsghdr *)out_buf, cap, &vd), 0);
        return vd;
}

static const struct nlmsghdr *forward(const nl_view *v, const struct nlmsghdr *req)
{
        nlsan_verdict vd = run_cap(v, req, OUT_CAP);

        cr_assert_eq(vd.action, NLSAN_FORWARD, "refused: %d %s", vd.error, vd.msg);
        return (const struct nlmsghdr *)out_buf;
}

static void refused(const nl_view *v, const struct nlmsghdr *req, int error, const char *want)
{
        nlsan_verdict vd = run_cap(v, req, OUT_CAP);

        cr_assert_eq(vd.action, NLSAN_REFUSE, "not refused (want %s)", want);
        cr_assert_eq(vd.error, error, "error %d, want %d (%s)", vd.error, error, vd.msg);
        cr_assert_not_null(strstr(vd.msg, want), "message '%s' lacks '%s'", vd.msg, want);
        cr_assert_eq(strncmp(vd.msg, "uoa: ", 5), 0);
}

/* A forwarded route change: acts on table, and prefsrc if not NULL. */
static parsed assert_change(const struct nlmsghdr *out, uint32_t table, const char *prefsrc)
{
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(out);
        parsed p = parse(out, sizeof(*rtm));

        cr_assert_eq(out->nlmsg_seq, SEQ);
        cr_assert_eq(rtm->rtm_table, table < 256 ? table : RT_TABLE_UNSPEC);
        cr_assert_eq(p.count[RTA_TABLE], 1);
        cr_assert_eq(mnl_attr_get_u32(p.tb[RTA_TABLE]), table);
        if (prefsrc) {
                cr_assert_eq(p.count[RTA_PREFSRC], 1);
                assert_addr(p.tb[RTA_PREFSRC], prefsrc);
        } else {
                cr_assert_eq(p.count[RTA_PREFSRC], 0);
        }
        return p;
}

/* ---- route changes ------------------------------------------------------------------------- */

Test(route, main_table_becomes_the_slice_table_with_its_primary_source)
{
        struct nlmsghdr *req = new_v4();
        parsed p;

        put_addr(req, RTA_DST, "192.0.2.0");
        put_addr(req, RTA_GATEWAY, "10.0.0.1");
        p = assert_change(forward(&V, req), 100, "10.0.0.11");
        assert_addr(p.tb[RTA_DST], "192.0.2.0");
        assert_addr(p.tb[RTA_GATEWAY], "10.0.0.1");
        cr_assert_eq(p.n, 4);
        cr_assert_eq(p.order[2], RTA_TABLE);
        cr_assert_eq(p.order[3], RTA_PREFSRC);
        cr_assert_eq(((const struct nlmsghdr *)out_buf)->nlmsg_flags, req->nlmsg_flags);
}

Test(route, table_unspec_and_own_id_act_on_the_slice_table)
{
        struct nlmsghdr *req = route_msg(RTM_NEWROUTE, AF_INET, RT_TABLE_UNSPEC, RTN_UNICAST);

        assert_change(forward(&V, req), 100, "10.0.0.11");
        req = route_msg(RTM_NEWROUTE, AF_INET, 100, RTN_UNICAST);
        assert_change(forward(&V, req), 100, "10.0.0.11");
}

Test(route, rta_table_is_rewritten_in_place_keeping_attribute_order)
{
        struct nlmsghdr *req = route_msg(RTM_NEWROUTE, AF_INET, RT_TABLE_UNSPEC, RTN_UNICAST);
        parsed p;

        mnl_attr_put_u32(req, RTA_TABLE, RT_TABLE_MAIN);
        put_addr(req, RTA_DST, "192.0.2.0");
        p = assert_change(forward(&V, req), 100, "10.0.0.11");
        cr_assert_eq(p.n, 3);
        cr_assert_eq(p.order[0], RTA_TABLE);
        cr_assert_eq(p.order[1], RTA_DST);
}

Test(route, table_above_255_goes_in_rta_table_with_header_unspec)
{
        struct nlmsghdr *req = new_v4();

        assert_change(forward(&BIG, req), 32800, "10.0.0.12");
        req = route_msg(RTM_DELROUTE, AF_INET, RT_TABLE_UNSPEC, RTN_UNICAST);
        mnl_attr_put_u32(req, RTA_TABLE, 32800);
        assert_change(forward(&BIG, req), 32800, NULL);
}

Test(route, another_table_in_the_header_is_refused_with_a_reason)
{
        refused(&V, route_msg(RTM_NEWROUTE, AF_INET, RT_TABLE_LOCAL, RTN_UNICAST), -EPERM,
                "table 255 is not this slice's (its own table is shown as main)");
        refused(&V, route_msg(RTM_DELROUTE, AF_INET6, 101, RTN_UNICAST), -EPERM, "table 101 ");
}

Test(route, another_table_in_rta_table_is_refused_even_with_main_header)
{
        struct nlmsghdr *req = new_v4();

        mnl_attr_put_u32(req, RTA_TABLE, 32800); /* BIG's table */
        refused(&V, req, -EPERM, "table 32800 is not this slice's");
}

Test(route, slice_without_table_may_not_add_or_delete)
{
        refused(&RO, new_v4(), -EPERM, "this slice has no routing table; routes are read-only");
        refused(&RO, route_msg(RTM_DELROUTE, AF_INET, RT_TABLE_MAIN, RTN_UNICAST), -EPERM,
                "routes are read-only");
}

Test(route, unknown_attribute_is_refused)
{
        struct nlmsghdr *req = new_v4();

        mnl_attr_put_u32(req, RTA_MARK, 7);
        refused(&V, req, -EINVAL, "uoa: unknown route attribute 16");
        req = new_v4();
        mnl_attr_put_u32(req, 200, 7);
        refused(&V, req, -EINVAL, "unknown route attribute 200");
}

Test(route, duplicate_attribute_is_refused)
{
        struct nlmsghdr *req = new_v4();

        put_addr(req, RTA_DST, "192.0.2.0");
        put_addr(req, RTA_DST, "198.51.100.0");
        refused(&V, req, -EINVAL, "uoa: duplicate route attribute 1");
}

Test(route, attribute_of_the_wrong_size_is_refused)
{
        struct nlmsghdr *req = new_v4();

        put_addr(req, RTA_GATEWAY, "2001:db8::1"); /* 16 bytes on an IPv4 route */
        refused(&V, req, -EINVAL, "uoa: bad length of route attribute 5");
        req = new_v4();
        mnl_attr_put_u16(req, RTA_PRIORITY, 10);
        refused(&V, req, -EINVAL, "bad length of route attribute 6");
        req = new_v4();
        mnl_attr_put_u32(req, RTA_PREF, 1);
        refused(&V, req, -EINVAL, "bad length of route attribute 20");
}

Test(route, trailing_bytes_after_the_attributes_are_refused)
{
        struct nlmsghdr *req = new_v4();

        put_addr(req, RTA_DST, "192.0.2.0");
        req->nlmsg_len += 4; /* a zeroed, impossible attribute header */
        refused(&V, req, -EINVAL, "malformed route attributes");
}

Test(route, lightweight_tunnels_are_refused)
{
        struct nlmsghdr *req = new_v4();

        mnl_attr_put_u16(req, RTA_ENCAP_TYPE, LWTUNNEL_ENCAP_MPLS);
        refused(&V, req, -EPERM, "uoa: lightweight tunnel encapsulation is not permitted");
        req = new_v4();
        mnl_attr_nest_end(req, mnl_attr_nest_start(req, RTA_ENCAP));
        refused(&V, req, -EPERM, "lightweight tunnel encapsulation");
}

Test(route, nexthop_id_is_not_supported)
{
        struct nlmsghdr *req = new_v4();

        mnl_attr_put_u32(req, RTA_NH_ID, 1);
        refused(&V, req, -EOPNOTSUPP, "uoa: nexthop objects are global to the host; use gateways");
}

Test(route, families_other_than_inet_are_refused)
{
        refused(&V, route_msg(RTM_NEWROUTE, AF_UNSPEC, RT_TABLE_MAIN, RTN_UNICAST), -EAFNOSUPPORT,
                "address family 0");
        refused(&V, route_msg(RTM_NEWROUTE, AF_MPLS, RT_TABLE_MAIN, RTN_UNICAST), -EAFNOSUPPORT, "uoa: ");
}

Test(route, prefix_longer_than_the_family_is_refused)
{
        struct nlmsghdr *req = new_v4();

        rtm_of(req)->rtm_dst_len = 33;
        refused(&V, req, -EINVAL, "prefix length");
        req = route_msg(RTM_NEWROUTE, AF_INET6, RT_TABLE_MAIN, RTN_UNICAST);
        rtm_of(req)->rtm_src_len = 129;
        refused(&V, req, -EINVAL, "prefix length");
        req = route_msg(RTM_NEWROUTE, AF_INET6, RT_TABLE_MAIN, RTN_UNICAST);
        rtm_of(req)->rtm_dst_len = 128;
        forward(&V, req);
}

Test(route, only_unicast_blackhole_unreachable_prohibit_are_permitted)
{
        static const uint8_t ok[] = { RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT };

        refused(&V, route_msg(RTM_NEWROUTE, AF_INET, RT_TABLE_MAIN, RTN_LOCAL), -EPERM,
                "uoa: route type 2 is not permitted (unicast, blackhole, unreachable, prohibit)");
        refused(&V, route_msg(RTM_NEWROUTE, AF_INET, RT_TABLE_MAIN, RTN_NAT), -EPERM, "route type 10 ");
        refused(&V, route_msg(RTM_NEWROUTE, AF_INET, RT_TABLE_MAIN, RTN_UNSPEC), -EPERM, "route type 0 ");
        for (size_t i = 0; i < sizeof(ok); i++) /* no source for routes that send nothing */
                assert_change(forward(&V, route_msg(RTM_NEWROUTE, AF_INET, RT_TABLE_MAIN, ok[i])), 100, NULL);
        assert_change(forward(&V, route_msg(RTM_DELROUTE, AF_INET, RT_TABLE_MAIN, RTN_UNSPEC)), 100, NULL);
}

Test(route, protocol_250_is_reserved_for_uoad)
{
        struct nlmsghdr *req = new_v4();

        rtm_of(req)->rtm_protocol = NLPROXY_GUARD_PROTO;
        refused(&V, req, -EPERM, "uoa: protocol 250 is reserved for uoad");
        req = route_msg(RTM_DELROUTE, AF_INET, RT_TABLE_MAIN, RTN_UNICAST);
        rtm_of(req)->rtm_protocol = NLPROXY_GUARD_PROTO;
        refused(&V, req, -EPERM, "protocol 250");
}

/* `ip route del default` as iproute2 sends it: the default prefix, no
 * protocol, no metric; table 0 with no attributes at all is the same. */
static struct nlmsghdr *del_default(uint8_t family, uint8_t table)
{
        struct nlmsghdr *req = route_msg(RTM_DELROUTE, family, table, RTN_UNSPEC);

        rtm_of(req)->rtm_dst_len = 0;
        rtm_of(req)->rtm_protocol = RTPROT_UNSPEC;
        rtm_of(req)->rtm_scope = RT_SCOPE_NOWHERE;
        return req;
}

static bool guard_check(const nl_view *v, const struct nlmsghdr *req)
{
        nlsan_verdict vd = run_cap(v, req, OUT_CAP);

        cr_assert_eq(vd.action, NLSAN_FORWARD, "refused: %d %s", vd.error, vd.msg);
        return vd.guard_check;
}

/* The kernel would match these to uoad's throw default when no route of the
 * slice fits first: the relay must check it survived (issue 19, point 5). */
Test(route, default_deletes_naming_no_protocol_or_other_metric_are_checked_by_the_relay)
{
        struct nlmsghdr *req;

        cr_expect(guard_check(&V, del_default(AF_INET, RT_TABLE_UNSPEC)), "table 0, no attributes");
        cr_expect(guard_check(&V, del_default(AF_INET, RT_TABLE_MAIN)), "ip route del default");
        cr_expect(guard_check(&V, del_default(AF_INET6, RT_TABLE_MAIN)), "ip -6 route del default");
        req = del_default(AF_INET6, RT_TABLE_MAIN);
        mnl_attr_put_u32(req, RTA_OIF, 2);
        cr_expect(guard_check(&V, req), "an interface does not rule it out (IPv6 matches lo's)");
        req = del_default(AF_INET, RT_TABLE_MAIN);
        mnl_attr_put_u32(req, RTA_PRIORITY, NLPROXY_GUARD_METRIC);
        cr_expect(guard_check(&V, req), "the throw route's own metric");
        cr_expect(guard_check(&BIG, del_default(AF_INET, RT_TABLE_UNSPEC)), "a table above 255");
}

Test(route, deletes_that_cannot_match_the_throw_route_go_straight_through)
{
        struct nlmsghdr *req;

        cr_expect(!guard_check(&V, route_msg(RTM_DELROUTE, AF_INET, RT_TABLE_MAIN, RTN_UNSPEC)), "a /24");
        req = del_default(AF_INET, RT_TABLE_MAIN);
        rtm_of(req)->rtm_protocol = RTPROT_BOOT;
        cr_expect(!guard_check(&V, req), "a protocol of its own");
        req = del_default(AF_INET6, RT_TABLE_MAIN);
        mnl_attr_put_u32(req, RTA_PRIORITY, 1024);
        cr_expect(!guard_check(&V, req), "another metric");
        req = route_msg(RTM_NEWROUTE, AF_INET, RT_TABLE_MAIN, RTN_UNICAST);
        rtm_of(req)->rtm_dst_len = 0;
        rtm_of(req)->rtm_protocol = RTPROT_UNSPEC;
        cr_expect(!guard_check(&V, req), "an add");
}

/* A replace of the default with the throw route's metric would take its
 * place; an add would make the relay's check find it present when gone. */
Test(route, the_throw_routes_metric_on_a_default_route_is_reserved_for_uoad)
{
        struct nlmsghdr *req = new_v4();

        rtm_of(req)->rtm_dst_len = 0;
        mnl_attr_put_u32(req, RTA_PRIORITY, NLPROXY_GUARD_METRIC);
        refused(&V, req, -EPERM, "uoa: metric 4294967295 on a default route is reserved for uoad");
        req->nlmsg_flags |= NLM_F_REPLACE;
        refused(&V, req, -EPERM, "reserved for uoad");
        req = route_msg(RTM_NEWROUTE, AF_INET6, RT_TABLE_MAIN, RTN_UNICAST);
        rtm_of(req)->rtm_dst_len = 0;
        mnl_attr_put_u32(req, RTA_PRIORITY, NLPROXY_GUARD_METRIC);
        refused(&V, req, -EPERM, "reserved for uoad");
        req = new_v4();
        mnl_attr_put_u32(req, RTA_PRIORITY, NLPROXY_GUARD_METRIC);
        assert_change(forward(&V, req), 100, "10.0.0.11"); /* not a default: no clash */
}

Test(route, the_slices_own_preferred_source_is_kept_once)
{
        struct nlmsghdr *req = route_msg(RTM_NEWROUTE, AF_INET6, RT_TABLE_MAIN, RTN_UNICAST);
        parsed p;

        put_addr(req, RTA_PREFSRC, "2001:db8::11");
        put_addr(req, RTA_DST, "2001:db8:5::");
        p = assert_change(forward(&V, req), 100, "2001:db8::11");
        cr_assert_eq(p.order[0], RTA_PREFSRC);
}

Test(route, a_preferred_source_not_the_slices_is_refused)
{
        struct nlmsghdr *req = new_v4();

        put_addr(req, RTA_PREFSRC, "10.0.0.12"); /* slice 1002's */
        refused(&V, req, -EPERM, "uoa: preferred source 10.0.0.12 is not this slice's address");
        req = route_msg(RTM_DELROUTE, AF_INET6, RT_TABLE_MAIN, RTN_UNICAST);
        put_addr(req, RTA_PREFSRC, "2001:db8::99");
        refused(&V, req, -EPERM, "preferred source 2001:db8::99 ");
}

Test(route, ipv6_routes_get_the_ipv6_primary_address)
{
        struct nlmsghdr *req = route_msg(RTM_NEWROUTE, AF_INET6, RT_TABLE_MAIN, RTN_UNICAST);

        put_addr(req, RTA_GATEWAY, "fe80::1");
        assert_change(forward(&V, req), 100, "2001:db8::11");
}

Test(route, no_source_is_added_to_deletions_or_without_an_address_of_the_family)
{
        assert_change(forward(&V, route_msg(RTM_DELROUTE, AF_INET, RT_TABLE_MAIN, RTN_UNICAST)), 100, NULL);
        /* 1002 has no IPv6 address. */
        assert_change(forward(&BIG, route_msg(RTM_NEWROUTE, AF_INET6, RT_TABLE_MAIN, RTN_UNICAST)),
                      32800, NULL);
}

Test(route, output_interface_must_be_the_slices)
{
        struct nlmsghdr *req = new_v4();

        mnl_attr_put_u32(req, RTA_OIF, 2);
        cr_assert_eq(mnl_attr_get_u32(assert_change(forward(&V, req), 100, "10.0.0.11").tb[RTA_OIF]), 2);
        req = new_v4();
        mnl_attr_put_u32(req, RTA_OIF, 3);
        refused(&V, req, -EPERM, "uoa: interface eth0 is not this slice's");
        req = new_v4();
        mnl_attr_put_u32(req, RTA_OIF, 9);
        refused(&V, req, -EPERM, "uoa: unknown interface 9");
}

Test(route, slice_listing_no_interface_may_use_any)
{
        struct nlmsghdr *req = new_v4();

        mnl_attr_put_u32(req, RTA_OIF, 3);
        forward(&BIG, req);
        req = new_v4();
        mnl_attr_put_u32(req, RTA_OIF, 9); /* the kernel says ENODEV */
        forward(&BIG, req);
}

/* A multipath attribute of hops (ifindex, gateway); extra adds a nested
 * attribute of that type to the last hop. */
static void put_multipath(struct nlmsghdr *req, const int *ifindex, size_t n, uint16_t extra)
{
        struct nlattr *mp = mnl_attr_nest_start(req, RTA_MULTIPATH);

        for (size_t i = 0; i < n; i++) {
                struct rtnexthop *nh = mnl_nlmsg_get_payload_tail(req);

                req->nlmsg_len += RTNH_ALIGN(sizeof(*nh));
                *nh = (struct rtnexthop){ .rtnh_ifindex = ifindex[i] };
                put_addr(req, RTA_GATEWAY, "10.0.0.1");
                if (extra && i == n - 1)
                        mnl_attr_put_u32(req, extra, 1);
                nh->rtnh_len = (unsigned short)((uint8_t *)mnl_nlmsg_get_payload_tail(req) - (uint8_t *)nh);
        }
        mnl_attr_nest_end(req, mp);
}

Test(route, multipath_hops_are_checked_and_copied)
{
        struct nlmsghdr *req = new_v4();
        const struct nlattr *mp;
        parsed p;

        put_multipath(req, (const int[]){ 2, 0 }, 2, 0);
        mp = (const struct nlattr *)((uint8_t *)req + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmsg)));
        p = assert_change(forward(&V, req), 100, "10.0.0.11");
        cr_assert_eq(p.tb[RTA_MULTIPATH]->nla_len, mp->nla_len);
        cr_assert_arr_eq(p.tb[RTA_MULTIPATH], mp, mp->nla_len);
}

Test(route, multipath_hop_on_another_interface_is_refused)
{
        struct nlmsghdr *req = new_v4();

        put_multipath(req, (const int[]){ 2, 3 }, 2, 0);
        refused(&V, req, -EPERM, "interface eth0 is not this slice's");
}

Test(route, multipath_hop_attributes_are_an_allow_list)
{
        struct nlmsghdr *req = new_v4();

        put_multipath(req, (const int[]){ 2 }, 1, RTA_FLOW);
        refused(&V, req, -EINVAL, "unknown route attribute 11 in a multipath hop");
        req = new_v4();
        put_multipath(req, (const int[]){ 2 }, 1, RTA_ENCAP_TYPE);
        refused(&V, req, -EPERM, "lightweight tunnel encapsulation");
        req = new_v4();
        put_multipath(req, (const int[]){ 2 }, 1, RTA_GATEWAY);
        refused(&V, req, -EINVAL, "duplicate route attribute 5 in a multipath hop");
}

Test(route, multipath_hop_of_a_bad_length_is_refused)
{
        struct nlmsghdr *req = new_v4();
        struct rtnexthop *nh;

        put_multipath(req, (const int[]){ 2, 2 }, 2, 0);
        nh = (struct rtnexthop *)((uint8_t *)req + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmsg)) +
                                  MNL_ATTR_HDRLEN);
        nh->rtnh_len = 4;
        refused(&V, req, -EINVAL, "bad length of route attribute 9");
        nh->rtnh_len = 200; /* beyond the attribute */
        refused(&V, req, -EINVAL, "bad length of route attribute 9");
}

Test(route, metrics_are_copied_and_must_be_well_formed)
{
        struct nlmsghdr *req = new_v4();
        struct nlattr *nest = mnl_attr_nest_start(req, RTA_METRICS);
        parsed p;

        mnl_attr_put_u32(req, RTAX_MTU, 1400);
        mnl_attr_nest_end(req, nest);
        p = assert_change(forward(&V, req), 100, "10.0.0.11");
        cr_assert_arr_eq(p.tb[RTA_METRICS], nest, nest->nla_len);
        nest->nla_len -= 2; /* the inner attribute now overruns its nest */
        refused(&V, req, -EINVAL, "bad length of route attribute 8");
}

Test(route, all_allowed_attributes_pass)
{
        struct nlmsghdr *req = route_msg(RTM_NEWROUTE, AF_INET6, RT_TABLE_MAIN, RTN_UNICAST);
        uint8_t via[18] = { AF_INET6 };
        parsed p;

        put_addr(req, RTA_DST, "2001:db8:5::");
        put_addr(req, RTA_SRC, "2001:db8:6::");
        mnl_attr_put_u32(req, RTA_OIF, 2);
        mnl_attr_put_u32(req, RTA_PRIORITY, 1024);
        mnl_attr_put_u8(req, RTA_PREF, 1);
        mnl_attr_put_u32(req, RTA_EXPIRES, 60);
        mnl_attr_put_u32(req, RTA_FLOW, 3);
        mnl_attr_put(req, RTA_VIA, sizeof(via), via);
        p = assert_change(forward(&V, req), 100, "2001:db8::11");
        cr_assert_eq(p.n, 10);
        req->nlmsg_len -= MNL_ALIGN(MNL_ATTR_HDRLEN + sizeof(via));
        mnl_attr_put(req, RTA_VIA, 6, via); /* family inet6 with 4 bytes */
        refused(&V, req, -EINVAL, "bad length of route attribute 18");
}

Test(route, output_that_does_not_fit_is_refused)
{
        struct nlmsghdr *req = new_v4();
        nlsan_verdict vd;

        put_addr(req, RTA_DST, "192.0.2.0");
        vd = run_cap(&V, req, req->nlmsg_len + 8); /* RTA_TABLE fits, RTA_PREFSRC does not */
        cr_assert_eq(vd.action, NLSAN_REFUSE);
        cr_assert_eq(vd.error, -ENOBUFS);
        cr_assert_str_eq(vd.msg, "uoa: request too large");
        vd = run_cap(&V, req, req->nlmsg_len + 16);
        cr_assert_eq(vd.action, NLSAN_FORWARD);
        cr_assert_eq(((struct nlmsghdr *)out_buf)->nlmsg_len, req->nlmsg_len + 16);
}

Test(route, payload_shorter_than_rtmsg_is_refused)
{
        struct nlmsghdr *req = new_v4();

        req->nlmsg_len = NLMSG_HDRLEN + 8;
        refused(&V, req, -EINVAL, "too short");
}

/* ---- what is dropped unanswered ------------------------------------------------------------ */

Test(types, messages_shorter_than_their_length_or_a_header_are_dropped)
{
        struct nlmsghdr *req = new_v4();
        nlsan_verdict vd = { .action = _NLSAN_ACTION_MAX };
        struct nlmsghdr *out = (struct nlmsghdr *)out_buf;

        cr_assert_eq(nlsan_request(&V, req, req->nlmsg_len - 1, out, OUT_CAP, &vd), -EINVAL);
        cr_assert_eq(nlsan_request(&V, req, NLMSG_HDRLEN - 1, out, OUT_CAP, &vd), -EINVAL);
        req->nlmsg_len = NLMSG_HDRLEN - 1;
        cr_assert_eq(nlsan_request(&V, req, 64, out, OUT_CAP, &vd), -EINVAL);
        cr_assert_eq(vd.action, _NLSAN_ACTION_MAX, "verdict written on a drop");
}

Test(types, control_messages_are_dropped)
{
        static const uint16_t types[] = { NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN };
        nlsan_verdict vd;

        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                struct nlmsghdr *req = msg_start(req_buf, types[i], 0);

                mnl_nlmsg_put_extra_header(req, 20);
                cr_assert_eq(nlsan_request(&V, req, req->nlmsg_len, (struct nlmsghdr *)out_buf, OUT_CAP, &vd),
                             -EINVAL, "type %u", types[i]);
        }
}

/* ---- route dumps --------------------------------------------------------------------------- */

static struct nlmsghdr *dump_msg(uint8_t family, uint8_t table)
{
        struct nlmsghdr *req = route_msg(RTM_GETROUTE, family, table, RTN_UNSPEC);

        req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        return req;
}

/* A forwarded dump: only the family, the table, and RTA_TABLE. */
static void assert_dump(const struct nlmsghdr *out, uint8_t family, uint32_t table)
{
        struct rtmsg want = { .rtm_family = family, .rtm_table = table < 256 ? table : 0 };
        parsed p = parse(out, sizeof(struct rtmsg));

        cr_assert_eq(out->nlmsg_type, RTM_GETROUTE);
        cr_assert_eq(out->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
        cr_assert_eq(out->nlmsg_seq, SEQ);
        cr_assert_arr_eq(mnl_nlmsg_get_payload(out), &want, sizeof(want));
        cr_assert_eq(p.n, 1);
        cr_assert_eq(mnl_attr_get_u32(p.tb[RTA_TABLE]), table);
}

Test(dump, is_rebuilt_for_the_slice_table_without_stray_fields)
{
        struct nlmsghdr *req = dump_msg(AF_INET6, RT_TABLE_MAIN);

        rtm_of(req)->rtm_flags = RTM_F_CLONED;
        rtm_of(req)->rtm_scope = RT_SCOPE_LINK;
        mnl_attr_put_u32(req, RTA_OIF, 3);
        assert_dump(forward(&V, req), AF_INET6, 100);
        assert_dump(forward(&BIG, dump_msg(AF_INET, RT_TABLE_UNSPEC)), AF_INET, 32800);
}

Test(dump, rta_table_of_the_slice_or_main_is_accepted)
{
        struct nlmsghdr *req = dump_msg(AF_INET, RT_TABLE_UNSPEC);

        mnl_attr_put_u32(req, RTA_TABLE, RT_TABLE_MAIN);
        assert_dump(forward(&V, req), AF_INET, 100);
        req = dump_msg(AF_INET, RT_TABLE_COMPAT);
        mnl_attr_put_u32(req, RTA_TABLE, 32800);
        assert_dump(forward(&BIG, req), AF_INET, 32800);
}

Test(dump, naming_another_table_is_refused)
{
        struct nlmsghdr *req = dump_msg(AF_INET, RT_TABLE_LOCAL);

        refused(&V, req, -EPERM, "uoa: table 255 is not this slice's (its own table is shown as main)");
        req = dump_msg(AF_INET, RT_TABLE_UNSPEC);
        mnl_attr_put_u32(req, RTA_TABLE, 32800);
        refused(&V, req, -EPERM, "table 32800 ");
        req = dump_msg(AF_INET, 7);
        mnl_attr_put_u32(req, RTA_TABLE, RT_TABLE_MAIN);
        refused(&V, req, -EPERM, "table 7 ");
}

Test(dump, old_clients_short_rtgenmsg_is_accepted)
{
        struct nlmsghdr *req = msg_start(req_buf, RTM_GETROUTE, NLM_F_DUMP);

        *(uint8_t *)mnl_nlmsg_put_extra_header(req, 1) = AF_INET6;
        req->nlmsg_len = NLMSG_HDRLEN + 1;
        assert_dump(forward(&V, req), AF_INET6, 100);
}

Test(dump, slice_without_table_reads_main)
{
        assert_dump(forward(&RO, dump_msg(AF_INET, RT_TABLE_UNSPEC)), AF_INET, RT_TABLE_MAIN);
        refused(&RO, dump_msg(AF_INET, 100), -EPERM, "table 100 ");
}

/* ---- route lookups ------------------------------------------------------------------------- */

static struct nlmsghdr *get_msg(uint8_t family)
{
        struct nlmsghdr *req = route_msg(RTM_GETROUTE, family, RT_TABLE_UNSPEC, RTN_UNSPEC);

        req->nlmsg_flags = NLM_F_REQUEST;
        rtm_of(req)->rtm_dst_len = family == AF_INET ? 32 : 128;
        return req;
}

Test(lookup, runs_as_the_slice_uid_replacing_any_given)
{
        struct nlmsghdr *req = get_msg(AF_INET);
        const struct nlmsghdr *out;
        parsed p;

        put_addr(req, RTA_DST, "192.0.2.1");
        mnl_attr_put_u32(req, RTA_UID, 0);
        mnl_attr_put_u32(req, RTA_OIF, 5);
        out = forward(&V, req);
        cr_assert_arr_eq(mnl_nlmsg_get_payload(out), mnl_nlmsg_get_payload(req), sizeof(struct rtmsg));
        p = parse(out, sizeof(struct rtmsg));
        cr_assert_eq(p.count[RTA_UID], 1);
        cr_assert_eq(mnl_attr_get_u32(p.tb[RTA_UID]), 1001);
        cr_assert_eq(p.n, 3);
        cr_assert_eq(p.order[2], RTA_UID);
        cr_assert_eq(mnl_attr_get_u32(p.tb[RTA_OIF]), 5);
        assert_addr(p.tb[RTA_DST], "192.0.2.1");
}

/* A mark could steer the lookup through fwmark rules into another table. */
Test(lookup, a_mark_is_refused)
{
        struct nlmsghdr *req = get_msg(AF_INET);

        put_addr(req, RTA_DST, "192.0.2.1");
        mnl_attr_put_u32(req, RTA_MARK, 5);
        refused(&V, req, -EINVAL, "unknown route attribute 16");
}

Test(lookup, uid_is_added_and_lookup_attributes_pass)
{
        struct nlmsghdr *req = get_msg(AF_INET6);
        parsed p;

        put_addr(req, RTA_DST, "2001:db8:5::1");
        put_addr(req, RTA_SRC, "2001:db8::11");
        mnl_attr_put_u32(req, RTA_IIF, 1);
        mnl_attr_put_u32(req, RTA_OIF, 3);
        mnl_attr_put_u8(req, RTA_IP_PROTO, IPPROTO_TCP);
        mnl_attr_put_u16(req, RTA_SPORT, htons(1000));
        mnl_attr_put_u16(req, RTA_DPORT, htons(80));
        mnl_attr_put_u32(req, 31 /* RTA_FLOWLABEL */, htonl(0x12345));
        p = parse(forward(&BIG, req), sizeof(struct rtmsg));
        cr_assert_eq(p.n, 9);
        cr_assert_eq(mnl_attr_get_u32(p.tb[RTA_UID]), 1002);
        cr_assert_eq(p.count[RTA_TABLE], 0);
}

Test(lookup, naming_a_table_or_another_attribute_is_refused)
{
        struct nlmsghdr *req = get_msg(AF_INET);

        mnl_attr_put_u32(req, RTA_TABLE, RT_TABLE_MAIN);
        refused(&V, req, -EPERM, "uoa: a route lookup cannot name a table");
        req = get_msg(AF_INET);
        put_addr(req, RTA_GATEWAY, "10.0.0.1");
        refused(&V, req, -EINVAL, "unknown route attribute 5");
        req = get_msg(AF_INET);
        mnl_attr_put_u32(req, RTA_UID, 0);
        mnl_attr_put_u32(req, RTA_UID, 0);
        refused(&V, req, -EINVAL, "duplicate route attribute 25");
        req = get_msg(AF_INET);
        mnl_attr_put_u8(req, RTA_SPORT, 1);
        refused(&V, req, -EINVAL, "bad length of route attribute 28");
        refused(&V, get_msg(AF_PACKET), -EAFNOSUPPORT, "uoa: address family 17");
}

/* ---- other message types ------------------------------------------------------------------- */

Test(types, reads_of_links_addresses_neighbours_netconf_are_forwarded_unchanged)
{
        static const struct { uint16_t type; size_t hdr; } gets[] = {
                { RTM_GETLINK, sizeof(struct ifinfomsg) }, { RTM_GETADDR, sizeof(struct ifaddrmsg) },
                { RTM_GETNEIGH, sizeof(struct ndmsg) }, { RTM_GETNETCONF, 4 },
        };

        for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++)
                for (int dump = 0; dump < 2; dump++) {
                        struct nlmsghdr *req = msg_start(req_buf, gets[i].type, dump ? NLM_F_DUMP : 0);
                        const struct nlmsghdr *out;

                        memset(mnl_nlmsg_put_extra_header(req, gets[i].hdr), 0x01, 1);
                        mnl_attr_put_u32(req, 29 /* IFLA_EXT_MASK and other filters */, 1);
                        out = forward(&RO, req);
                        cr_assert_eq(out->nlmsg_len, req->nlmsg_len);
                        cr_assert_arr_eq(out, req, req->nlmsg_len, "type %u", gets[i].type);
                }
}

Test(types, short_rtgenmsg_dumps_pass_but_not_short_single_gets)
{
        struct nlmsghdr *req = msg_start(req_buf, RTM_GETADDR, NLM_F_DUMP);

        *(uint8_t *)mnl_nlmsg_put_extra_header(req, 1) = AF_INET;
        req->nlmsg_len = NLMSG_HDRLEN + 1; /* glibc's getifaddrs sends 17 bytes */
        cr_assert_eq(forward(&V, req)->nlmsg_len, NLMSG_HDRLEN + 1);
        req->nlmsg_type = RTM_GETLINK;
        cr_assert_arr_eq(forward(&V, req), req, NLMSG_HDRLEN + 1);
        req->nlmsg_flags = NLM_F_REQUEST;
        refused(&V, req, -EINVAL, "too short");
        req->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        req->nlmsg_len = NLMSG_HDRLEN;
        refused(&V, req, -EINVAL, "too short");
}

Test(types, rule_dump_is_empty_and_other_rule_requests_refused)
{
        struct nlmsghdr *req = msg_start(req_buf, RTM_GETRULE, NLM_F_DUMP);

        mnl_nlmsg_put_extra_header(req, sizeof(struct rtmsg));
        cr_assert_eq(run_cap(&V, req, OUT_CAP).action, NLSAN_EMPTY_DUMP);
        req->nlmsg_flags = NLM_F_REQUEST;
        refused(&V, req, -EPERM, "uoa: routing rules are the host's");
        req->nlmsg_type = RTM_NEWRULE;
        refused(&V, req, -EPERM, "uoa: routing rules are the host's");
        req->nlmsg_type = RTM_DELRULE;
        refused(&RO, req, -EPERM, "uoa: routing rules are the host's");
}

Test(types, changes_to_host_objects_are_refused_with_reasons)
{
        static const struct { uint16_t type; int error; const char *msg; } cases[] = {
                { RTM_NEWADDR, -EPERM, "uoa: addresses are assigned by the uoa policy" },
                { RTM_DELADDR, -EPERM, "uoa: addresses are assigned by the uoa policy" },
                { RTM_NEWLINK, -EPERM, "uoa: interfaces are the host's" },
                { RTM_DELLINK, -EPERM, "uoa: interfaces are the host's" },
                { RTM_SETLINK, -EPERM, "uoa: interfaces are the host's" },
                { RTM_NEWNEIGH, -EPERM, "uoa: neighbour entries are the host's" },
                { RTM_DELNEIGH, -EPERM, "uoa: neighbour entries are the host's" },
                { RTM_NEWNEXTHOP, -EOPNOTSUPP, "uoa: nexthop objects are global to the host; use gateways" },
                { RTM_DELNEXTHOP, -EOPNOTSUPP, "nexthop objects are global" },
                { RTM_GETNEXTHOP, -EOPNOTSUPP, "nexthop objects are global" },
                { RTM_NEWQDISC, -EOPNOTSUPP, "uoa: netlink message type 36 is not supported for slices" },
                { 1000, -EOPNOTSUPP, "netlink message type 1000 " },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct nlmsghdr *req = msg_start(req_buf, cases[i].type, NLM_F_CREATE);

                mnl_nlmsg_put_extra_header(req, 16);
                refused(&V, req, cases[i].error, cases[i].msg);
        }
}

/* ---- error and done answers ---------------------------------------------------------------- */

/* The request the answers below refer to: 16 + 12 + 8 + 2 = 38 bytes. */
static struct nlmsghdr *answer_req(void)
{
        struct nlmsghdr *req = new_v4();

        mnl_attr_put_u32(req, RTA_TABLE, 7);
        req->nlmsg_len += 2;
        req->nlmsg_pid = 777;
        return req;
}

/* What netlink_ack() writes: header, struct nlmsgerr, echo, TLV. */
static size_t expected_error(uint8_t *e, const struct nlmsghdr *req, int error, uint16_t flags,
                             size_t echo, const char *msg)
{
        struct nlmsghdr h = { .nlmsg_type = NLMSG_ERROR, .nlmsg_flags = flags, .nlmsg_seq = SEQ,
                              .nlmsg_pid = 4242 };
        struct nlmsgerr err = { .error = error, .msg = *req };
        size_t n = NLMSG_HDRLEN + sizeof(err);

        memset(e, 0, OUT_CAP);
        memcpy(e + NLMSG_HDRLEN, &err, sizeof(err));
        memcpy(e + n, (const uint8_t *)req + NLMSG_HDRLEN, echo);
        n += NLMSG_ALIGN(echo);
        if (msg) {
                struct nlattr a = { .nla_type = NLMSGERR_ATTR_MSG,
                                    .nla_len = (uint16_t)(MNL_ATTR_HDRLEN + strlen(msg) + 1) };

                memcpy(e + n, &a, sizeof(a));
                memcpy(e + n + sizeof(a), msg, strlen(msg));
                n += MNL_ALIGN(a.nla_len);
        }
        h.nlmsg_len = (uint32_t)n;
        memcpy(e, &h, sizeof(h));
        return n;
}

Test(answer, error_echoes_the_whole_request)
{
        struct nlmsghdr *req = answer_req();
        static uint8_t want[OUT_CAP];
        size_t n = expected_error(want, req, -EPERM, 0, req->nlmsg_len - NLMSG_HDRLEN, NULL);

        cr_assert_eq(n, 16 + 20 + 24);
        cr_assert_eq(nlsan_error_build(req, -EPERM, "uoa: x", false, false, 4242, out_buf, OUT_CAP), n);
        cr_assert_arr_eq(out_buf, want, n);
}

Test(answer, capped_error_echoes_only_the_header)
{
        struct nlmsghdr *req = answer_req();
        static uint8_t want[OUT_CAP];
        size_t n = expected_error(want, req, -EPERM, NLM_F_CAPPED, 0, NULL);

        cr_assert_eq(n, 36);
        cr_assert_eq(nlsan_error_build(req, -EPERM, NULL, true, true, 4242, out_buf, OUT_CAP), n);
        cr_assert_arr_eq(out_buf, want, n);
}

Test(answer, extended_ack_carries_the_message_tlv)
{
        struct nlmsghdr *req = answer_req();
        static uint8_t want[OUT_CAP];
        const char *msg = "uoa: table 7 is not this slice's (its own table is shown as main)";
        size_t n = expected_error(want, req, -EPERM, NLM_F_ACK_TLVS, req->nlmsg_len - NLMSG_HDRLEN, msg);

        cr_assert_eq(nlsan_error_build(req, -EPERM, msg, false, true, 4242, out_buf, OUT_CAP), n);
        cr_assert_arr_eq(out_buf, want, n);
        n = expected_error(want, req, -EPERM, NLM_F_CAPPED | NLM_F_ACK_TLVS, 0, msg);
        cr_assert_eq(nlsan_error_build(req, -EPERM, msg, true, true, 4242, out_buf, OUT_CAP), n);
        cr_assert_arr_eq(out_buf, want, n);
        cr_assert_eq(n % 4, 0);
}

Test(answer, plain_ack_is_capped_as_the_kernel_does)
{
        struct nlmsghdr *req = answer_req();
        static uint8_t want[OUT_CAP];
        size_t n = expected_error(want, req, 0, NLM_F_CAPPED, 0, NULL);

        cr_assert_eq(nlsan_error_build(req, 0, NULL, false, false, 4242, out_buf, OUT_CAP), n);
        cr_assert_arr_eq(out_buf, want, n);
}

Test(answer, too_small_a_buffer_writes_nothing)
{
        struct nlmsghdr *req = answer_req();

        memset(out_buf, 0xaa, sizeof(out_buf));
        cr_assert_eq(nlsan_error_build(req, -EPERM, NULL, false, false, 1, out_buf, 59), 0);
        cr_assert_eq(nlsan_error_build(req, -EPERM, NULL, true, false, 1, out_buf, 35), 0);
        cr_assert_eq(nlsan_error_build(req, -EPERM, "uoa: x", true, true, 1, out_buf, 47), 0);
        cr_assert_eq(nlsan_done_build(req, 1, out_buf, 19), 0);
        cr_assert_eq(out_buf[0], 0xaa, "written although it did not fit");
        cr_assert_eq(nlsan_error_build(req, -EPERM, NULL, false, false, 1, out_buf, 60), 60);
        cr_assert_eq(nlsan_error_build(req, -EPERM, "uoa: x", true, true, 1, out_buf, 48), 48);
}

Test(answer, done_is_multi_with_a_zero_int)
{
        struct nlmsghdr *req = answer_req();
        struct { struct nlmsghdr h; int zero; } want = {
                { .nlmsg_len = 20, .nlmsg_type = NLMSG_DONE, .nlmsg_flags = NLM_F_MULTI,
                  .nlmsg_seq = SEQ, .nlmsg_pid = 4242 }, 0,
        };

        cr_assert_eq(nlsan_done_build(req, 4242, out_buf, OUT_CAP), 20);
        cr_assert_arr_eq(out_buf, &want, 20);
}

Test(route, echoed_cacheinfo_is_accepted_and_stripped)
{
        struct nlmsghdr *req = route_msg(RTM_DELROUTE, AF_INET6, RT_TABLE_MAIN, RTN_UNICAST);
        struct rta_cacheinfo ci = { .rta_expires = 0 };
        const struct nlmsghdr *out;
        parsed p;

        mnl_attr_put(req, RTA_CACHEINFO, sizeof(ci), &ci);
        out = forward(&V, req);
        p = parse(out, sizeof(struct rtmsg));
        cr_assert_eq(p.count[RTA_CACHEINFO], 0);
        cr_assert_eq(p.count[RTA_TABLE], 1);
}

/* ip monitor probes network namespace ids first; any user may read them. */
Test(types, nsid_lookup_is_forwarded)
{
        struct nlmsghdr *req = msg_start(req_buf, RTM_GETNSID, NLM_F_DUMP);
        struct rtgenmsg *g = mnl_nlmsg_put_extra_header(req, sizeof(*g));

        g->rtgen_family = AF_UNSPEC;
        forward(&V, req);
}

/* A read that names another namespace would be resolved with uoad's
 * privilege and in uoad's file table: refused; the slice's own is read. */
Test(types, reads_naming_another_namespace_are_refused)
{
        struct nlmsghdr *req = msg_start(req_buf, RTM_GETNSID, 0);
        struct ifinfomsg *ifi;
        struct rtgenmsg *g = mnl_nlmsg_put_extra_header(req, sizeof(*g));

        g->rtgen_family = AF_UNSPEC;
        mnl_attr_put_u32(req, NETNSA_FD, 3);
        refused(&V, req, -EPERM, "own network namespace");
        req = msg_start(req_buf, RTM_GETNSID, 0);
        mnl_nlmsg_put_extra_header(req, sizeof(*g));
        mnl_attr_put_u32(req, NETNSA_PID, 1);
        refused(&V, req, -EPERM, "own network namespace");
        req = msg_start(req_buf, RTM_GETNSID, 0);
        mnl_nlmsg_put_extra_header(req, sizeof(*g));
        mnl_attr_put_u32(req, NETNSA_NSID, 0);
        forward(&V, req); /* an nsid as seen from the slice's own namespace */

        req = msg_start(req_buf, RTM_GETLINK, NLM_F_DUMP);
        ifi = mnl_nlmsg_put_extra_header(req, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_u32(req, IFLA_TARGET_NETNSID, 0);
        refused(&V, req, -EPERM, "own network namespace");
        req = msg_start(req_buf, RTM_GETADDR, NLM_F_DUMP);
        mnl_nlmsg_put_extra_header(req, sizeof(struct ifaddrmsg));
        mnl_attr_put_u32(req, IFA_TARGET_NETNSID, 0);
        refused(&V, req, -EPERM, "own network namespace");
}

/* A refused dump ends like a failed kernel dump: NLMSG_DONE with the errno
 * and the message TLV, which is where iproute2 reads a dump's reason. */
Test(answer, refused_dump_ends_with_done_carrying_errno_and_message)
{
        struct nlmsghdr *req = msg_start(req_buf, RTM_GETROUTE, NLM_F_DUMP);
        const char *msg = "uoa: table 7 is not this slice's";
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)out_buf;
        const struct nlattr *a;
        size_t n;
        int err;

        n = nlsan_dump_error_build(req, -EPERM, msg, true, 42, out_buf, sizeof(out_buf));
        cr_assert_eq(n, nlh->nlmsg_len);
        cr_assert_eq(nlh->nlmsg_type, NLMSG_DONE);
        cr_assert_eq(nlh->nlmsg_flags, NLM_F_MULTI | NLM_F_ACK_TLVS);
        cr_assert_eq(nlh->nlmsg_seq, req->nlmsg_seq);
        cr_assert_eq(nlh->nlmsg_pid, 42);
        memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
        cr_assert_eq(err, -EPERM);
        a = (const struct nlattr *)((const uint8_t *)mnl_nlmsg_get_payload(nlh) + NLMSG_ALIGN(sizeof(err)));
        cr_assert_eq(mnl_attr_get_type(a), NLMSGERR_ATTR_MSG);
        cr_assert_str_eq(mnl_attr_get_str(a), msg);
        cr_assert_eq(nlsan_dump_error_build(req, -EPERM, msg, false, 42, out_buf, sizeof(out_buf)),
                     NLMSG_HDRLEN + sizeof(int));
}
