/* netlink-proxy/nlproxy.h: the rtnetlink sanitizer (requests from a slice)
 * and rewriter (replies and notifications to it). Pure: no I/O, no logging;
 * what it needs to know about the host comes through nl_view's callback. */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

#define NLPROXY_MSG_MAX 128        /* an extended-ack message, with NUL */
#define NLPROXY_REQUEST_MAX 65536u /* largest request datagram accepted */
#define NLPROXY_GUARD_PROTO POLICY_GUARD_PROTO /* uoad's own routes: hidden */
#define NLPROXY_GUARD_METRIC POLICY_GUARD_METRIC /* their metric on the default prefix */

/* The slice as the proxy sees it. */
typedef struct nl_view {
        const policy_slice *slice;
        /* The kernel table the slice's "main" is: slice->table, or 254 (main)
         * for a slice without a table, which may then only read. */
        uint32_t table;
        bool may_write; /* slice->table != 0 */
        uid_t uid;      /* for RTA_UID on route lookups */
        /* ifindex -> name (IFNAMSIZ), for output-interface checks; 0 or -errno. */
        int (*ifname_of)(int ifindex, char *name, void *userdata);
        void *userdata;
} nl_view;

typedef enum nlsan_action {
        NLSAN_FORWARD,    /* send the rewritten message to the kernel */
        NLSAN_REFUSE,     /* answer with an error (error, msg) */
        NLSAN_EMPTY_DUMP, /* answer a dump with NLMSG_DONE only (e.g. rules) */
        _NLSAN_ACTION_MAX,
} nlsan_action;

typedef struct nlsan_verdict {
        nlsan_action action;
        int error;                  /* negative errno, REFUSE only */
        char msg[NLPROXY_MSG_MAX];  /* REFUSE: "uoa: ..." for the extended ack */
        /* FORWARD: a delete the kernel may match to uoad's own `throw
         * default` of the slice table; the relay must see it put back. */
        bool guard_check;
} nlsan_verdict;

/* Sanitize one request message. in is one nlmsghdr of len bytes (len is what
 * the datagram holds from in on; in->nlmsg_len is checked against it). On
 * NLSAN_FORWARD, out (out_cap bytes) holds the rewritten message and its
 * nlmsg_len. Rules (docs/design.md §4 routes row):
 *  - RTM_NEWROUTE/DELROUTE: slice with a table only; table 0, 254 or its own
 *    (header and RTA_TABLE) -> its table, others -EPERM; types unicast,
 *    blackhole, unreachable, prohibit (and unspec for DELROUTE); RTA_PREFSRC
 *    must be the slice's, added (primary of the family) to a unicast
 *    NEWROUTE without one; output interfaces (RTA_OIF, RTA_MULTIPATH hops)
 *    must be the slice's when it lists any; RTA_ENCAP*, RTA_NH_ID, unknown and
 *    duplicate attributes, bad lengths -> refused; rtm_protocol 250 refused,
 *    and so is metric 4294967295 on a default route (uoad's throw route's:
 *    a replace would take its place). A DELROUTE of the default prefix
 *    without a protocol and without another metric also matches uoad's
 *    throw route: forwarded with guard_check set.
 *  - RTM_GETROUTE dump: forced to the slice's table (RTA_TABLE added); a
 *    request naming another table -EPERM. RTM_GETROUTE without DUMP (route
 *    get): RTA_UID set to the slice's uid.
 *  - RTM_GETLINK, GETADDR, GETNEIGH, GETNETCONF: forwarded unchanged (what
 *    any user may read), but a GETLINK of one link the slice does not see
 *    (nlview_getlink_check) is refused with -ENODEV and no message, the
 *    kernel's answer for a link that does not exist. RTM_GETRULE dump:
 *    NLSAN_EMPTY_DUMP.
 *  - RTM_NEWNEXTHOP/DELNEXTHOP/GETNEXTHOP: -EOPNOTSUPP; rules, addresses,
 *    links, neighbours changes: -EPERM; anything else -EOPNOTSUPP.
 * Returns 0 (see *ret) or -EINVAL for a message too malformed to answer
 * (shorter than a header): the caller drops it. */
int nlsan_request(const nl_view *v, const struct nlmsghdr *in, size_t len,
                  struct nlmsghdr *out, size_t out_cap, nlsan_verdict *ret);

/* The kernel's answer format for a refused request, to buf (cap bytes):
 * NLMSG_ERROR with struct nlmsgerr, the request (only its header if cap_ack,
 * with NLM_F_CAPPED), and with ext_ack the NLMSGERR_ATTR_MSG TLV (and
 * NLM_F_ACK_TLVS). nlmsg_seq from the request, nlmsg_pid = portid.
 * Returns the length written, 0 if cap is too small. */
size_t nlsan_error_build(const struct nlmsghdr *req, int error, const char *msg, bool cap_ack,
                         bool ext_ack, uint32_t portid, void *buf, size_t cap);
/* NLMSG_DONE (NLM_F_MULTI, int 0 payload) answering the dump req. */
size_t nlsan_done_build(const struct nlmsghdr *req, uint32_t portid, void *buf, size_t cap);
/* A refused dump, answered as the kernel ends a failed dump: NLMSG_DONE with
 * the (negative) errno and, with ext_ack, the message TLV. */
size_t nlsan_dump_error_build(const struct nlmsghdr *req, int error, const char *msg, bool ext_ack,
                              uint32_t portid, void *buf, size_t cap);

/* Rewrite one datagram from the kernel (replies to the slice's requests and
 * multicast notifications) into out: route messages (NEW/DELROUTE) of any
 * table but v->table are dropped, and so are routes with rtm_protocol 250;
 * the slice's table becomes 254 (rtm_table and RTA_TABLE); link and address
 * messages the slice does not see (nlview_msg_visible) are dropped, those
 * it sees pass nlview_msg_rewrite(); nlmsg_pid
 * equal to kernel_portid becomes client_portid. Everything else is copied as is.
 * Malformed messages are dropped. Returns the new length (0: nothing left). */
size_t nlrw_datagram(const nl_view *v, uint32_t kernel_portid, uint32_t client_portid,
                     const void *in, size_t len, void *out, size_t cap);

/* The slice's view of links and addresses (nlview.c; docs/design.md §4):
 * loopback ("lo") and, when the slice lists interfaces, only those; all
 * links when it lists none. */
bool nlview_link_visible(const nl_view *v, const char *ifname);
/* Whether the slice sees this message: RTM_NEWLINK/DELLINK of a link it
 * sees (by IFLA_IFNAME, else ifname_of); RTM_NEWADDR/DELADDR of loopback, of
 * an address of the slice, or an IPv6 link-local address (fe80::/10) on a
 * link it sees; neighbours (RTM_NEWNEIGH/DELNEIGH) and per-link netconf of
 * a link it sees (netconf's "all" and "default" always). Malformed messages
 * of these types are not seen; other types are (the rewriter decides). */
bool nlview_msg_visible(const nl_view *v, const struct nlmsghdr *nlh);
/* An RTM_GETLINK request for one link (no dump) by index or IFLA_IFNAME:
 * -ENODEV if the slice does not see that link, as the kernel answers for a
 * link that does not exist (a lookup by IFLA_ALT_IFNAME too, for a slice
 * that lists interfaces); 0 to forward it. */
int nlview_getlink_check(const nl_view *v, const struct nlmsghdr *in);
/* The copy of a visible message as the slice sees it: an IPv4 address is
 * never secondary (IFA_F_SECONDARY cleared in ifa_flags and IFA_FLAGS). The
 * primary address of its subnet is mostly the host's or another slice's,
 * which the slice does not see, and daemons skip secondaries (BIRD's
 * direct protocol makes no connected route of one). */
void nlview_msg_rewrite(struct nlmsghdr *nlh);
