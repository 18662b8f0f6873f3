/* tests/test_nlrewrite.c: unit tests of netlink-proxy/nlrewrite.c, the
 * rewriter of the kernel's replies and notifications for a slice. */
#include <criterion/criterion.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "tests/nltest.h"

TestSuite(rewrite, .init = setup, .fini = teardown);

/* Appends to datagram d (at *len) a route message of table (RTA_TABLE if
 * attr, with rtm_table 252 above 255), protocol proto, port id pid. */
static void dg_route(uint8_t *d, size_t *len, uint16_t type, uint32_t table, bool attr, uint8_t proto,
                     uint32_t pid)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(d + *len);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_MULTI;
        nlh->nlmsg_seq = SEQ;
        nlh->nlmsg_pid = pid;
        *rtm = (struct rtmsg){ .rtm_family = AF_INET, .rtm_dst_len = 24, .rtm_protocol = proto,
                               .rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_COMPAT,
                               .rtm_type = RTN_UNICAST };
        if (attr)
                mnl_attr_put_u32(nlh, RTA_TABLE, table);
        put_addr(nlh, RTA_DST, "192.0.2.0");
        *len += nlh->nlmsg_len;
}

/* A message of a type the rewriter copies as is (netns ids, qdiscs,
 * control messages; links, addresses, neighbours: test_nlview.c). */
static void dg_other(uint8_t *d, size_t *len, uint16_t type, uint32_t pid)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(d + *len);

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_MULTI;
        nlh->nlmsg_seq = SEQ;
        nlh->nlmsg_pid = pid;
        memset(mnl_nlmsg_put_extra_header(nlh, 16), 0x5a, 16);
        *len += nlh->nlmsg_len;
}

/* The i-th message of a datagram. */
static const struct nlmsghdr *dg_at(const uint8_t *d, size_t len, unsigned i)
{
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)d;
        int left = (int)len;

        for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
                if (i-- == 0)
                        return nlh;
        return NULL;
}

static unsigned dg_count(const uint8_t *d, size_t len)
{
        unsigned n = 0;

        while (dg_at(d, len, n))
                n++;
        return n;
}

/* A rewritten route message names main, in the header and RTA_TABLE. */
static void assert_main(const struct nlmsghdr *nlh)
{
        parsed p = parse(nlh, sizeof(struct rtmsg));

        cr_assert_eq(((const struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_table, RT_TABLE_MAIN);
        if (p.tb[RTA_TABLE])
                cr_assert_eq(mnl_attr_get_u32(p.tb[RTA_TABLE]), RT_TABLE_MAIN);
        assert_addr(p.tb[RTA_DST], "192.0.2.0");
}

Test(rewrite, other_tables_are_dropped_and_the_slice_table_is_main)
{
        size_t len = 0, n;

        dg_route(req_buf, &len, RTM_NEWROUTE, RT_TABLE_MAIN, true, RTPROT_BOOT, 0);
        dg_route(req_buf, &len, RTM_NEWROUTE, 100, true, RTPROT_BOOT, 0);
        dg_route(req_buf, &len, RTM_NEWROUTE, RT_TABLE_LOCAL, true, RTPROT_KERNEL, 0);
        dg_route(req_buf, &len, RTM_DELROUTE, 100, false, RTPROT_BOOT, 0);
        dg_route(req_buf, &len, RTM_DELROUTE, 101, false, RTPROT_BOOT, 0);
        n = nlrw_datagram(&V, 9, 10, req_buf, len, rw_buf, sizeof(rw_buf));
        cr_assert_eq(dg_count(rw_buf, n), 2);
        cr_assert_eq(n, dg_at(req_buf, len, 1)->nlmsg_len + dg_at(req_buf, len, 3)->nlmsg_len);
        assert_main(dg_at(rw_buf, n, 0));
        cr_assert_eq(dg_at(rw_buf, n, 0)->nlmsg_type, RTM_NEWROUTE);
        assert_main(dg_at(rw_buf, n, 1));
        cr_assert_eq(dg_at(rw_buf, n, 1)->nlmsg_type, RTM_DELROUTE);
}

Test(rewrite, large_slice_table_is_found_in_rta_table)
{
        size_t len = 0, n;

        dg_route(req_buf, &len, RTM_NEWROUTE, 32800, true, RTPROT_BOOT, 0);
        dg_route(req_buf, &len, RTM_NEWROUTE, 100, true, RTPROT_BOOT, 0);
        n = nlrw_datagram(&BIG, 9, 10, req_buf, len, rw_buf, sizeof(rw_buf));
        cr_assert_eq(dg_count(rw_buf, n), 1);
        assert_main(dg_at(rw_buf, n, 0));
}

Test(rewrite, uoad_guard_routes_are_hidden)
{
        size_t len = 0, n;

        dg_route(req_buf, &len, RTM_NEWROUTE, 100, true, NLPROXY_GUARD_PROTO, 0);
        dg_route(req_buf, &len, RTM_DELROUTE, 100, true, NLPROXY_GUARD_PROTO, 0);
        n = nlrw_datagram(&V, 9, 10, req_buf, len, rw_buf, sizeof(rw_buf));
        cr_assert_eq(n, 0);
}

Test(rewrite, kernel_port_id_becomes_the_clients)
{
        size_t len = 0, n;

        dg_route(req_buf, &len, RTM_NEWROUTE, 100, true, RTPROT_BOOT, 9);
        dg_other(req_buf, &len, RTM_NEWNSID, 9);
        dg_other(req_buf, &len, RTM_NEWQDISC, 12345);
        dg_other(req_buf, &len, NLMSG_DONE, 9);
        n = nlrw_datagram(&V, 9, 10, req_buf, len, rw_buf, sizeof(rw_buf));
        cr_assert_eq(dg_count(rw_buf, n), 4);
        cr_assert_eq(dg_at(rw_buf, n, 0)->nlmsg_pid, 10);
        cr_assert_eq(dg_at(rw_buf, n, 1)->nlmsg_pid, 10);
        cr_assert_eq(dg_at(rw_buf, n, 2)->nlmsg_pid, 12345);
        cr_assert_eq(dg_at(rw_buf, n, 3)->nlmsg_pid, 10);
}

Test(rewrite, mixed_batch_keeps_order_and_copies_other_types)
{
        static const uint16_t want[] = { RTM_NEWNSID, RTM_NEWROUTE, NLMSG_ERROR, RTM_NEWQDISC, NLMSG_DONE };
        size_t len = 0, n;

        dg_other(req_buf, &len, RTM_NEWNSID, 0);
        dg_route(req_buf, &len, RTM_NEWROUTE, RT_TABLE_MAIN, true, RTPROT_BOOT, 0);
        dg_route(req_buf, &len, RTM_NEWROUTE, 100, true, RTPROT_BOOT, 0);
        dg_other(req_buf, &len, NLMSG_ERROR, 0);
        dg_route(req_buf, &len, RTM_NEWROUTE, 32800, true, RTPROT_BOOT, 0);
        dg_other(req_buf, &len, RTM_NEWQDISC, 0);
        dg_other(req_buf, &len, NLMSG_DONE, 0);
        n = nlrw_datagram(&V, 9, 10, req_buf, len, rw_buf, sizeof(rw_buf));
        cr_assert_eq(dg_count(rw_buf, n), 5);
        for (unsigned i = 0; i < 5; i++)
                cr_assert_eq(dg_at(rw_buf, n, i)->nlmsg_type, want[i], "message %u", i);
        cr_assert_arr_eq(dg_at(rw_buf, n, 0), dg_at(req_buf, len, 0), 32);
        cr_assert_arr_eq(dg_at(rw_buf, n, 2), dg_at(req_buf, len, 3), 32);
}

Test(rewrite, slice_without_table_sees_main)
{
        size_t len = 0, n;

        dg_route(req_buf, &len, RTM_NEWROUTE, RT_TABLE_MAIN, true, RTPROT_BOOT, 0);
        dg_route(req_buf, &len, RTM_NEWROUTE, 100, true, RTPROT_BOOT, 0);
        n = nlrw_datagram(&RO, 9, 10, req_buf, len, rw_buf, sizeof(rw_buf));
        cr_assert_eq(dg_count(rw_buf, n), 1);
        cr_assert_arr_eq(rw_buf, req_buf, n);
}

Test(rewrite, truncated_and_malformed_messages_are_dropped)
{
        size_t len = 0, n;
        struct nlmsghdr *bad;

        dg_route(req_buf, &len, RTM_NEWROUTE, 100, true, RTPROT_BOOT, 0);
        bad = (struct nlmsghdr *)(req_buf + len);
        dg_route(req_buf, &len, RTM_NEWROUTE, 100, true, RTPROT_BOOT, 0);
        mnl_attr_put_u32(bad, RTA_TABLE, 100); /* twice: malformed */
        len += 8;
        dg_route(req_buf, &len, RTM_NEWROUTE, 100, true, RTPROT_BOOT, 0);
        n = nlrw_datagram(&V, 9, 10, req_buf, len - 5, rw_buf, sizeof(rw_buf)); /* cut the last */
        cr_assert_eq(dg_count(rw_buf, n), 1);
        assert_main(dg_at(rw_buf, n, 0));
        bad = (struct nlmsghdr *)req_buf;
        bad->nlmsg_len = NLMSG_HDRLEN + 4; /* shorter than struct rtmsg */
        cr_assert_eq(nlrw_datagram(&V, 9, 10, req_buf, NLMSG_HDRLEN + 4, rw_buf, sizeof(rw_buf)), 0);
        cr_assert_eq(nlrw_datagram(&V, 9, 10, req_buf, 7, rw_buf, sizeof(rw_buf)), 0);
}

Test(rewrite, output_buffer_too_small_keeps_what_fits)
{
        size_t len = 0, n;

        dg_other(req_buf, &len, RTM_NEWNSID, 0);
        dg_other(req_buf, &len, RTM_NEWNSID, 0);
        n = nlrw_datagram(&V, 9, 10, req_buf, len, rw_buf, len - 1);
        cr_assert_eq(n, len / 2);
}

/* iproute2's flush sends dumped IPv6 routes back as deletes, with the
 * kernel's RTA_CACHEINFO: accepted, and not passed on. */
