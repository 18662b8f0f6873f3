/* tests/test_nlview.c: unit tests of netlink-proxy/nlview.c, the slice's
 * view of links, addresses and what belongs to links, alone and through
 * the rewriter and the sanitizer that use it. Links of the fixture: 1 lo, 2 veth0, 3 eth0. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "tests/nltest.h"

TestSuite(view, .init = setup, .fini = teardown);

static struct nlmsghdr *msg_start(uint8_t *d, size_t *len, uint16_t type, uint16_t flags)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(d + *len);

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        nlh->nlmsg_seq = SEQ;
        nlh->nlmsg_pid = 9;
        return nlh;
}

/* Appends a link message of ifindex (with IFLA_IFNAME name unless NULL). */
static void dg_link(uint8_t *d, size_t *len, uint16_t type, int ifindex, const char *name)
{
        struct nlmsghdr *nlh = msg_start(d, len, type, NLM_F_MULTI);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

        ifi->ifi_index = ifindex;
        mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
        if (name)
                mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        *len += nlh->nlmsg_len;
}

/* Appends an address message: text on ifindex (IFA_LOCAL too for IPv4, as
 * the kernel sends it; peer, if set, as IFA_ADDRESS of a point-to-point). */
static void dg_addr(uint8_t *d, size_t *len, uint16_t type, int ifindex, const char *text, const char *peer)
{
        struct nlmsghdr *nlh = msg_start(d, len, type, NLM_F_MULTI);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        bool v6 = strchr(text, ':') != NULL;

        *ifa = (struct ifaddrmsg){ .ifa_family = v6 ? AF_INET6 : AF_INET, .ifa_prefixlen = v6 ? 64 : 24,
                                   .ifa_index = (uint32_t)ifindex };
        put_addr(nlh, IFA_ADDRESS, peer ? peer : text);
        if (!v6)
                put_addr(nlh, IFA_LOCAL, text);
        *len += nlh->nlmsg_len;
}

/* The address (IFA_LOCAL, else IFA_ADDRESS) of each message of a datagram,
 * space-separated, or the link name for link messages. */
static const char *dg_names(const nl_view *v, const uint8_t *in, size_t len)
{
        static char text[1024];
        size_t n = nlrw_datagram(v, 9, 10, in, len, rw_buf, sizeof(rw_buf));
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)rw_buf;
        int left = (int)n;

        text[0] = '\0';
        for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
                char one[INET6_ADDRSTRLEN] = "?";

                cr_assert_eq(nlh->nlmsg_pid, 10u);
                if (nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK) {
                        parsed p = parse(nlh, sizeof(struct ifinfomsg));

                        if (p.tb[IFLA_IFNAME])
                                snprintf(one, sizeof(one), "%s", mnl_attr_get_str(p.tb[IFLA_IFNAME]));
                        else
                                snprintf(one, sizeof(one), "#%d",
                                         ((const struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_index);
                } else if (nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR) {
                        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
                        parsed p = parse(nlh, sizeof(*ifa));
                        const struct nlattr *a = p.tb[IFA_LOCAL] ? p.tb[IFA_LOCAL] : p.tb[IFA_ADDRESS];

                        inet_ntop(ifa->ifa_family, mnl_attr_get_payload(a), one, sizeof(one));
                }
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s", text[0] ? " " : "", one);
        }
        return text;
}

static uint8_t dg[OUT_CAP] __attribute__((aligned(8)));

Test(view, links_are_loopback_and_the_slices_interfaces_when_it_lists_any)
{
        size_t len = 0;

        dg_link(dg, &len, RTM_NEWLINK, 1, "lo");
        dg_link(dg, &len, RTM_NEWLINK, 2, "veth0");
        dg_link(dg, &len, RTM_NEWLINK, 3, "eth0");
        dg_link(dg, &len, RTM_NEWLINK, 4, "veth00");
        cr_assert_str_eq(dg_names(&V, dg, len), "lo veth0");
        /* No interface listed: every link. */
        cr_assert_str_eq(dg_names(&BIG, dg, len), "lo veth0 eth0 veth00");
        cr_assert_str_eq(dg_names(&RO, dg, len), "lo veth0 eth0 veth00");
}

Test(view, link_notifications_are_filtered_and_a_nameless_one_goes_by_index)
{
        size_t len = 0;

        dg_link(dg, &len, RTM_DELLINK, 3, "eth0");
        dg_link(dg, &len, RTM_NEWLINK, 2, NULL);
        dg_link(dg, &len, RTM_NEWLINK, 3, NULL);
        dg_link(dg, &len, RTM_DELLINK, 9, NULL); /* gone: no name to judge by */
        cr_assert_str_eq(dg_names(&V, dg, len), "#2");
}

Test(view, addresses_are_loopbacks_and_the_slices_own)
{
        size_t len = 0;

        dg_addr(dg, &len, RTM_NEWADDR, 1, "127.0.0.1", NULL);
        dg_addr(dg, &len, RTM_NEWADDR, 1, "::1", NULL);
        dg_addr(dg, &len, RTM_NEWADDR, 2, "10.0.0.11", NULL);
        dg_addr(dg, &len, RTM_NEWADDR, 2, "10.0.0.12", NULL);
        dg_addr(dg, &len, RTM_NEWADDR, 3, "10.0.0.1", NULL);
        dg_addr(dg, &len, RTM_NEWADDR, 3, "2001:db8::11", NULL);
        dg_addr(dg, &len, RTM_DELADDR, 3, "2001:db8::12", NULL);
        cr_assert_str_eq(dg_names(&V, dg, len), "127.0.0.1 ::1 10.0.0.11 2001:db8::11");
        /* Interfaces or not, no slice sees another's or the host's. */
        cr_assert_str_eq(dg_names(&BIG, dg, len), "127.0.0.1 ::1 10.0.0.12");
        cr_assert_str_eq(dg_names(&RO, dg, len), "127.0.0.1 ::1");
}

Test(view, a_point_to_point_address_is_judged_by_its_local_end)
{
        size_t len = 0;

        dg_addr(dg, &len, RTM_NEWADDR, 2, "10.0.0.11", "10.0.0.99");
        dg_addr(dg, &len, RTM_NEWADDR, 2, "10.0.0.99", "10.0.0.11");
        cr_assert_str_eq(dg_names(&V, dg, len), "10.0.0.11");
}

Test(view, link_local_addresses_show_on_the_links_the_slice_may_use)
{
        size_t len = 0;

        dg_addr(dg, &len, RTM_NEWADDR, 2, "fe80::2", NULL);
        dg_addr(dg, &len, RTM_NEWADDR, 3, "fe80::3", NULL);
        dg_addr(dg, &len, RTM_NEWADDR, 9, "fe80::9", NULL); /* unknown link */
        dg_addr(dg, &len, RTM_NEWADDR, 3, "169.254.0.3", NULL); /* IPv4's are ordinary addresses */
        cr_assert_str_eq(dg_names(&V, dg, len), "fe80::2");
        cr_assert_str_eq(dg_names(&BIG, dg, len), "fe80::2 fe80::3");
}

Test(view, a_shared_address_is_seen_by_every_slice_that_shares_it)
{
        static const char text[] = "1001 address 192.0.2.7 ports 1000-1999\n"
                                   "1002 address 192.0.2.7 ports 2000-2999\n"
                                   "1003 address 10.0.0.13\n";
        char err[256] = "";
        policy *p = NULL;
        size_t len = 0;
        nl_view w = V;

        cr_assert_eq(policy_parse(text, strlen(text), "t", NULL, NULL, &p, err, sizeof(err)), 0, "%s", err);
        dg_addr(dg, &len, RTM_NEWADDR, 3, "192.0.2.7", NULL);
        w.slice = policy_slice_find(p, 1001);
        cr_assert_str_eq(dg_names(&w, dg, len), "192.0.2.7");
        w.slice = policy_slice_find(p, 1002);
        cr_assert_str_eq(dg_names(&w, dg, len), "192.0.2.7");
        w.slice = policy_slice_find(p, 1003);
        cr_assert_str_eq(dg_names(&w, dg, len), "");
        policy_free(p);
}

Test(view, malformed_link_and_address_messages_are_dropped_and_the_rest_kept)
{
        size_t len = 0, n;
        struct nlmsghdr *nlh;

        dg_addr(dg, &len, RTM_NEWADDR, 2, "10.0.0.11", NULL);
        /* An attribute that runs past the message. */
        nlh = (struct nlmsghdr *)dg;
        ((struct nlattr *)((uint8_t *)nlh + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifaddrmsg))))->nla_len = 200;
        dg_addr(dg, &len, RTM_NEWADDR, 2, "10.0.0.11", NULL);
        /* A link message too short for its header. */
        nlh = msg_start(dg, &len, RTM_NEWLINK, NLM_F_MULTI);
        len += nlh->nlmsg_len;
        /* IFA_LOCAL of the wrong size. */
        nlh = msg_start(dg, &len, RTM_NEWADDR, NLM_F_MULTI);
        *(struct ifaddrmsg *)mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifaddrmsg)) =
                (struct ifaddrmsg){ .ifa_family = AF_INET, .ifa_index = 2 };
        mnl_attr_put_u16(nlh, IFA_LOCAL, 11);
        len += nlh->nlmsg_len;
        /* A name twice (iproute2 reads the first, libmnl's users the
         * last), and one without its NUL. */
        nlh = msg_start(dg, &len, RTM_NEWLINK, NLM_F_MULTI);
        mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
        mnl_attr_put_strz(nlh, IFLA_IFNAME, "veth0");
        mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
        len += nlh->nlmsg_len;
        nlh = msg_start(dg, &len, RTM_NEWLINK, NLM_F_MULTI);
        mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
        mnl_attr_put(nlh, IFLA_IFNAME, 5, "veth0");
        len += nlh->nlmsg_len;
        n = nlrw_datagram(&V, 9, 10, dg, len, rw_buf, sizeof(rw_buf));
        cr_assert_str_eq(dg_names(&V, dg, len), "10.0.0.11");
        cr_assert_lt(n, len);
}

/* An RTM_GETLINK for one link, by index or by name. */
static const struct nlmsghdr *getlink(int ifindex, const char *name, uint16_t name_type, uint16_t flags)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(req_buf);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

        nlh->nlmsg_type = RTM_GETLINK;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = SEQ;
        ifi->ifi_index = ifindex;
        if (name)
                mnl_attr_put_strz(nlh, name_type, name);
        return nlh;
}

static nlsan_verdict getlink_verdict(const nl_view *v, const struct nlmsghdr *nlh)
{
        nlsan_verdict vd;

        cr_assert_eq(nlsan_request(v, nlh, nlh->nlmsg_len, (struct nlmsghdr *)out_buf, sizeof(out_buf), &vd), 0);
        return vd;
}

Test(view, a_hidden_link_asked_for_by_index_or_name_does_not_exist)
{
        nlsan_verdict vd;

        vd = getlink_verdict(&V, getlink(3, NULL, 0, 0));
        cr_assert_eq(vd.action, NLSAN_REFUSE);
        cr_assert_eq(vd.error, -ENODEV);
        cr_assert_str_eq(vd.msg, "", "the kernel gives no message for a missing link");
        vd = getlink_verdict(&V, getlink(0, "eth0", IFLA_IFNAME, 0));
        cr_assert_eq(vd.error, -ENODEV);
        vd = getlink_verdict(&V, getlink(0, "anything", IFLA_ALT_IFNAME, 0));
        cr_assert_eq(vd.error, -ENODEV);
        /* The index wins over the name, as in the kernel. */
        vd = getlink_verdict(&V, getlink(3, "veth0", IFLA_IFNAME, 0));
        cr_assert_eq(vd.error, -ENODEV);
}

Test(view, visible_links_unknown_indexes_and_dumps_go_to_the_kernel)
{
        static const struct { const nl_view *v; int ifindex; const char *name; uint16_t flags; } cases[] = {
                { &V, 1, NULL, 0 },
                { &V, 0, "veth0", 0 },
                { &V, 9, NULL, 0 },          /* no such link: the kernel's own ENODEV */
                { &V, 0, NULL, NLM_F_DUMP }, /* the dump is filtered on the way back */
                { &BIG, 3, NULL, 0 },        /* BIG lists no interface: every link */
        };

        for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct nlmsghdr *nlh = getlink(cases[i].ifindex, cases[i].name, IFLA_IFNAME, cases[i].flags);

                cr_assert_eq(getlink_verdict(cases[i].v, nlh).action, NLSAN_FORWARD, "case %u", i);
                cr_assert_eq(memcmp(out_buf, nlh, nlh->nlmsg_len), 0, "case %u: forwarded unchanged", i);
        }
}

Test(view, link_visibility_by_name)
{
        cr_assert(nlview_link_visible(&V, "lo"));
        cr_assert(nlview_link_visible(&V, "veth0"));
        cr_assert_not(nlview_link_visible(&V, "eth0"));
        cr_assert_not(nlview_link_visible(&V, "lo0"));
        cr_assert_not(nlview_link_visible(&V, NULL));
        cr_assert(nlview_link_visible(&BIG, "eth0"));
}

Test(view, an_ipv4_address_is_never_shown_as_secondary_and_ipv6_flags_are_kept)
{
        size_t len = 0, n;
        struct nlmsghdr *nlh;
        struct ifaddrmsg *ifa;
        const struct ifaddrmsg *got;
        parsed p;

        for (int i = 0; i < 2; i++) {
                nlh = msg_start(dg, &len, RTM_NEWADDR, NLM_F_MULTI);
                ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
                *ifa = (struct ifaddrmsg){ .ifa_family = i ? AF_INET6 : AF_INET, .ifa_index = 2,
                                           .ifa_flags = IFA_F_SECONDARY | IFA_F_PERMANENT };
                put_addr(nlh, IFA_ADDRESS, i ? "2001:db8::11" : "10.0.0.11");
                mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_SECONDARY | IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE);
                len += nlh->nlmsg_len;
        }
        n = nlrw_datagram(&V, 9, 10, dg, len, rw_buf, sizeof(rw_buf));
        cr_assert_eq(n, len);
        got = mnl_nlmsg_get_payload((const struct nlmsghdr *)rw_buf);
        cr_assert_eq(got->ifa_flags, IFA_F_PERMANENT, "the primary of its subnet may be the host's, hidden");
        p = parse((const struct nlmsghdr *)rw_buf, sizeof(*got));
        cr_assert_eq(mnl_attr_get_u32(p.tb[IFA_FLAGS]), IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE);
        /* In IPv6 the same bit is IFA_F_TEMPORARY: untouched. */
        nlh = (struct nlmsghdr *)(rw_buf + MNL_ALIGN(((struct nlmsghdr *)rw_buf)->nlmsg_len));
        got = mnl_nlmsg_get_payload(nlh);
        cr_assert_eq(got->ifa_flags, IFA_F_TEMPORARY | IFA_F_PERMANENT);
        p = parse(nlh, sizeof(*got));
        cr_assert_eq(mnl_attr_get_u32(p.tb[IFA_FLAGS]), IFA_F_TEMPORARY | IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE);
}

static void dg_neigh(uint8_t *d, size_t *len, int ifindex)
{
        struct nlmsghdr *nlh = msg_start(d, len, RTM_NEWNEIGH, NLM_F_MULTI);
        struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));

        *ndm = (struct ndmsg){ .ndm_family = AF_INET, .ndm_ifindex = ifindex };
        put_addr(nlh, NDA_DST, "10.0.0.99");
        *len += nlh->nlmsg_len;
}

static void dg_netconf(uint8_t *d, size_t *len, int ifindex)
{
        struct nlmsghdr *nlh = msg_start(d, len, RTM_NEWNETCONF, NLM_F_MULTI);
        struct netconfmsg *ncm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ncm));

        ncm->ncm_family = AF_INET;
        mnl_attr_put_u32(nlh, NETCONFA_IFINDEX, (uint32_t)ifindex);
        *len += nlh->nlmsg_len;
}

/* The ifindex of each neighbour or netconf message the slice is given. */
static const char *dg_indexes(const nl_view *v, const uint8_t *in, size_t len)
{
        static char text[256];
        size_t n = nlrw_datagram(v, 9, 10, in, len, rw_buf, sizeof(rw_buf));
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)rw_buf;
        int left = (int)n;

        text[0] = '\0';
        for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
                int ifindex;

                if (nlh->nlmsg_type == RTM_NEWNEIGH)
                        ifindex = ((const struct ndmsg *)mnl_nlmsg_get_payload(nlh))->ndm_ifindex;
                else
                        ifindex = (int)mnl_attr_get_u32(parse(nlh, sizeof(struct netconfmsg)).tb[NETCONFA_IFINDEX]);
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%d", text[0] ? " " : "", ifindex);
        }
        return text;
}

Test(view, neighbours_and_link_settings_go_with_their_link)
{
        size_t len = 0;

        dg_neigh(dg, &len, 1);
        dg_neigh(dg, &len, 2);
        dg_neigh(dg, &len, 3);
        dg_neigh(dg, &len, 0);
        cr_assert_str_eq(dg_indexes(&V, dg, len), "1 2");
        cr_assert_str_eq(dg_indexes(&BIG, dg, len), "1 2 3 0");
        len = 0;
        dg_netconf(dg, &len, NETCONFA_IFINDEX_ALL);
        dg_netconf(dg, &len, NETCONFA_IFINDEX_DEFAULT);
        dg_netconf(dg, &len, 2);
        dg_netconf(dg, &len, 3);
        cr_assert_str_eq(dg_indexes(&V, dg, len), "-1 -2 2");
        cr_assert_str_eq(dg_indexes(&BIG, dg, len), "-1 -2 2 3");
}
