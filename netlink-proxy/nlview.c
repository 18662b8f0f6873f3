/* netlink-proxy/nlview.c: which links and addresses a slice sees
 * (docs/design.md §4, `ip addr`/`ip link` row): loopback, its own addresses,
 * its interfaces when it lists any; neighbours and per-link settings of the
 * links it sees. Pure: no I/O, no logging; link names of
 * bare indexes come through nl_view's callback. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "netlink-proxy/nlproxy.h"

#define LOOPBACK_NAME "lo"

bool nlview_link_visible(const nl_view *v, const char *ifname)
{
        if (!v || !ifname)
                return false;
        /* Loopback is every slice's, as it is never on its interface list. */
        if (strncmp(ifname, LOOPBACK_NAME, IFNAMSIZ) == 0)
                return true;
        return policy_slice_may_use_interface(v->slice, ifname);
}

/* The name of link ifindex, or false if the callback does not know it (a
 * link already gone, as for the notification of its removal). */
static bool name_of(const nl_view *v, uint32_t ifindex, char name[IFNAMSIZ])
{
        if (ifindex == 0 || ifindex > INT32_MAX || !v->ifname_of ||
            v->ifname_of((int)ifindex, name, v->userdata) < 0)
                return false;
        name[IFNAMSIZ - 1] = '\0';
        return true;
}

/* The attributes of a message after its family header of hdr bytes, of
 * each type up to max in tb. False if the message is short or its
 * attributes do not walk to its end, or, unless last_wins, if one of those
 * types comes twice: the kernel sends each once, and clients disagree about
 * which one counts (iproute2 takes the first, libmnl's callers the last).
 * In a request the kernel's nla_parse() takes the last: last_wins. */
static bool attrs_walk(const struct nlmsghdr *nlh, size_t hdr, const struct nlattr **tb, uint16_t max,
                       bool last_wins)
{
        const uint8_t *p;
        size_t len, off = 0;

        if (mnl_nlmsg_get_payload_len(nlh) < NLMSG_ALIGN(hdr))
                return false;
        p = mnl_nlmsg_get_payload_offset(nlh, hdr);
        len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(hdr);
        memset(tb, 0, (max + 1u) * sizeof(*tb));
        while (off < len) {
                const struct nlattr *a = (const struct nlattr *)(p + off);

                if (!mnl_attr_ok(a, (int)(len - off)))
                        return false;
                if (mnl_attr_get_type(a) <= max) {
                        if (tb[mnl_attr_get_type(a)] && !last_wins)
                                return false;
                        tb[mnl_attr_get_type(a)] = a;
                }
                off += MNL_ALIGN(a->nla_len);
        }
        return true;
}

/* A link name attribute: a NUL-terminated string of at most IFNAMSIZ
 * bytes, as the kernel sends it. Anything else is read differently by
 * different clients (up to the attribute's end, or past it), so it is
 * refused rather than guessed at. */
static bool name_attr(const struct nlattr *a, char name[IFNAMSIZ])
{
        size_t n = mnl_attr_get_payload_len(a);
        const char *p = mnl_attr_get_payload(a);

        if (n == 0 || n > IFNAMSIZ || !memchr(p, '\0', n) || p[0] == '\0')
                return false;
        memcpy(name, p, n);
        return true;
}

/* A link message: seen by its name (IFLA_IFNAME, else the index's). */
static bool link_msg_visible(const nl_view *v, const struct nlmsghdr *nlh)
{
        const struct nlattr *tb[IFLA_IFNAME + 1];
        const struct ifinfomsg *ifi;
        char name[IFNAMSIZ] = "";

        if (!attrs_walk(nlh, sizeof(*ifi), tb, IFLA_IFNAME, false))
                return false;
        ifi = mnl_nlmsg_get_payload(nlh);
        if (tb[IFLA_IFNAME]) {
                if (!name_attr(tb[IFLA_IFNAME], name))
                        return false;
        } else if (!name_of(v, (uint32_t)ifi->ifi_index, name))
                return false;
        return nlview_link_visible(v, name);
}

/* fe80::/10: what the kernel gives every IPv6 link itself. */
static bool is_link_local6(const uoa_addr *a)
{
        return a->family == AF_INET6 && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
}

/* An address message: loopback's addresses, the slice's own addresses
 * (on whatever link), and IPv6 link-local addresses of the links the slice
 * may use (BGP and neighbour discovery over IPv6 need them; seeing one grants
 * nothing: binding it is still EADDRNOTAVAIL). IFA_LOCAL is the address on
 * a point-to-point link, where IFA_ADDRESS is the peer's. */
static bool addr_msg_visible(const nl_view *v, const struct nlmsghdr *nlh)
{
        const struct nlattr *tb[IFA_LOCAL + 1], *a;
        const struct ifaddrmsg *ifa;
        char name[IFNAMSIZ];
        uoa_addr addr = { 0 };

        if (!attrs_walk(nlh, sizeof(*ifa), tb, IFA_LOCAL, false))
                return false;
        ifa = mnl_nlmsg_get_payload(nlh);
        a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (a && (ifa->ifa_family == AF_INET || ifa->ifa_family == AF_INET6) &&
            mnl_attr_get_payload_len(a) == uoa_addr_size(ifa->ifa_family)) {
                addr.family = ifa->ifa_family;
                memcpy(addr.bytes, mnl_attr_get_payload(a), uoa_addr_size(addr.family));
                if (policy_slice_address(v->slice, &addr))
                        return true;
        }
        /* The link's name only now: it costs the caller a lookup. */
        if (!name_of(v, ifa->ifa_index, name))
                return false;
        if (strcmp(name, LOOPBACK_NAME) == 0)
                return true;
        return addr.family != 0 && is_link_local6(&addr) && nlview_link_visible(v, name);
}

/* A link's own entries (a neighbour, the link's settings), by its index. */
static bool index_visible(const nl_view *v, int32_t ifindex)
{
        char name[IFNAMSIZ];

        if (v->slice->n_ifnames == 0)
                return true;
        return ifindex > 0 && name_of(v, (uint32_t)ifindex, name) && nlview_link_visible(v, name);
}

static bool neigh_msg_visible(const nl_view *v, const struct nlmsghdr *nlh)
{
        if (mnl_nlmsg_get_payload_len(nlh) < NLMSG_ALIGN(sizeof(struct ndmsg)))
                return false;
        return index_visible(v, ((const struct ndmsg *)mnl_nlmsg_get_payload(nlh))->ndm_ifindex);
}

/* Per-link settings (ip monitor netconf): the all and default entries are
 * every namespace's; a link's only with the link. */
static bool netconf_msg_visible(const nl_view *v, const struct nlmsghdr *nlh)
{
        const struct nlattr *tb[NETCONFA_IFINDEX + 1];
        int32_t ifindex;

        if (!attrs_walk(nlh, sizeof(struct netconfmsg), tb, NETCONFA_IFINDEX, false) || !tb[NETCONFA_IFINDEX] ||
            mnl_attr_get_payload_len(tb[NETCONFA_IFINDEX]) != sizeof(int32_t))
                return false;
        ifindex = (int32_t)mnl_attr_get_u32(tb[NETCONFA_IFINDEX]);
        return ifindex == NETCONFA_IFINDEX_ALL || ifindex == NETCONFA_IFINDEX_DEFAULT || index_visible(v, ifindex);
}

bool nlview_msg_visible(const nl_view *v, const struct nlmsghdr *nlh)
{
        if (!v || !v->slice || !nlh)
                return false;
        switch (nlh->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK:
                return link_msg_visible(v, nlh);
        case RTM_NEWADDR:
        case RTM_DELADDR:
                return addr_msg_visible(v, nlh);
        case RTM_NEWNEIGH:
        case RTM_DELNEIGH:
                return neigh_msg_visible(v, nlh);
        case RTM_NEWNETCONF:
        case RTM_DELNETCONF:
                return netconf_msg_visible(v, nlh);
        default:
                return true;
        }
}

int nlview_getlink_check(const nl_view *v, const struct nlmsghdr *in)
{
        const struct nlattr *tb[IFLA_ALT_IFNAME + 1];
        const struct ifinfomsg *ifi;
        char name[IFNAMSIZ] = "";

        if (!v || !v->slice || !in)
                return -EINVAL;
        if ((in->nlmsg_flags & NLM_F_DUMP) || v->slice->n_ifnames == 0)
                return 0;
        /* Malformed: the kernel answers (EINVAL) or, parsing what it can,
         * finds a link; the rewriter then withholds one the slice does not
         * see, and the client waits for nothing but its own mistake. */
        if (!attrs_walk(in, sizeof(*ifi), tb, IFLA_ALT_IFNAME, true))
                return 0;
        ifi = mnl_nlmsg_get_payload(in);
        /* As rtnl_getlink(): the index first, then the name. */
        if (ifi->ifi_index > 0) {
                if (!name_of(v, (uint32_t)ifi->ifi_index, name))
                        return 0; /* no such link: the kernel says so itself */
        } else if (tb[IFLA_IFNAME]) {
                if (!name_attr(tb[IFLA_IFNAME], name))
                        return -ENODEV; /* no link has that name */
        } else if (tb[IFLA_ALT_IFNAME]) {
                /* Alternative names are not on the slice's list: none is
                 * the slice's, whichever link carries it. */
                return -ENODEV;
        } else
                return 0;
        return nlview_link_visible(v, name) ? 0 : -ENODEV;
}

/* IPv4 only: in IPv6 the same bit is IFA_F_TEMPORARY. */
void nlview_msg_rewrite(struct nlmsghdr *nlh)
{
        struct ifaddrmsg *ifa;
        uint8_t *p;
        size_t len, off = 0;

        if ((nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR) ||
            mnl_nlmsg_get_payload_len(nlh) < NLMSG_ALIGN(sizeof(*ifa)))
                return;
        ifa = mnl_nlmsg_get_payload(nlh);
        if (ifa->ifa_family != AF_INET)
                return;
        ifa->ifa_flags &= (uint8_t)~IFA_F_SECONDARY;
        p = mnl_nlmsg_get_payload_offset(nlh, sizeof(*ifa));
        len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(*ifa));
        while (off < len) {
                struct nlattr *a = (struct nlattr *)(p + off);

                if (!mnl_attr_ok(a, (int)(len - off)))
                        return;
                if (mnl_attr_get_type(a) == IFA_FLAGS && mnl_attr_get_payload_len(a) == sizeof(uint32_t)) {
                        uint32_t flags;

                        memcpy(&flags, mnl_attr_get_payload(a), sizeof(flags));
                        flags &= ~(uint32_t)IFA_F_SECONDARY;
                        memcpy(mnl_attr_get_payload(a), &flags, sizeof(flags));
                }
                off += MNL_ALIGN(a->nla_len);
        }
}
