/* netlink-proxy/nlrewrite.c: the rewriter of what the kernel sends a slice
 * (replies and notifications): only the slice's routes, its table shown as
 * main, only its links and addresses (nlview.c), the client's port id. Pure: no I/O, no logging. */
#include <stddef.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "netlink-proxy/nlproxy.h"

/* Where a route message keeps its table; offsets from the message start. */
typedef struct route_table_at {
        uint32_t table;   /* RTA_TABLE, else rtm_table */
        size_t attr_off;  /* payload of RTA_TABLE, 0 if none */
} route_table_at;

/* A route message's table. -1 if the message is malformed: short header,
 * attributes that do not walk to the end, RTA_TABLE of a bad size or twice
 * (a client's parser would take the last one). */
static int route_table_find(const struct nlmsghdr *nlh, route_table_at *ret)
{
        const struct rtmsg *rtm;
        const uint8_t *p;
        size_t len, off = 0;
        route_table_at t = { 0 };

        if (mnl_nlmsg_get_payload_len(nlh) < NLMSG_ALIGN(sizeof(*rtm)))
                return -1;
        rtm = mnl_nlmsg_get_payload(nlh);
        t.table = rtm->rtm_table;
        p = mnl_nlmsg_get_payload_offset(nlh, sizeof(*rtm));
        len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(*rtm));
        while (off < len) {
                const struct nlattr *a = (const struct nlattr *)(p + off);

                if (!mnl_attr_ok(a, (int)(len - off)))
                        return -1;
                if (mnl_attr_get_type(a) == RTA_TABLE) {
                        if (t.attr_off != 0 || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
                                return -1;
                        t.table = mnl_attr_get_u32(a);
                        t.attr_off = (size_t)((const uint8_t *)mnl_attr_get_payload(a) -
                                              (const uint8_t *)nlh);
                }
                off += MNL_ALIGN(a->nla_len);
        }
        *ret = t;
        return 0;
}

/* Whether the slice sees this route message; its table in *ret. Dumps and
 * notifications show the slice's table only. The answer to its own route
 * lookup (RTM_NEWROUTE to our socket, not part of a dump) is shown whatever
 * table resolved it (a local address resolves in table local): the lookup
 * ran with the slice's uid, and withholding it would leave the client
 * waiting for an answer forever. */
static bool route_visible(const nl_view *v, uint32_t kernel_portid, const struct nlmsghdr *nlh,
                          route_table_at *ret)
{
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

        if (route_table_find(nlh, ret) < 0)
                return false;
        /* uoad's own routes (the guard's) are not the slice's to see. */
        if (rtm->rtm_protocol == NLPROXY_GUARD_PROTO)
                return false;
        if (ret->table == v->table)
                return true;
        return nlh->nlmsg_type == RTM_NEWROUTE && !(nlh->nlmsg_flags & NLM_F_MULTI) &&
               nlh->nlmsg_pid == kernel_portid && kernel_portid != 0;
}

/* The copy at m names main instead of the slice's table. */
static void route_rename(uint8_t *m, const route_table_at *t)
{
        uint32_t main_table = RT_TABLE_MAIN;

        m[NLMSG_HDRLEN + offsetof(struct rtmsg, rtm_table)] = RT_TABLE_MAIN;
        if (t->attr_off != 0)
                memcpy(m + t->attr_off, &main_table, sizeof(main_table));
}

/* mnl_nlmsg_ok() compares (int)nlmsg_len (libmnl 1.0.4): a length above
 * INT_MAX would pass it, so the walk below checks lengths unsigned. */
static bool msg_ok(const uint8_t *p, size_t left)
{
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;

        return left >= NLMSG_HDRLEN && nlh->nlmsg_len >= NLMSG_HDRLEN && nlh->nlmsg_len <= left;
}

/* Append the message at nlh (size bytes of output, nlmsg_len of them its
 * own) to o as the slice sees it. Returns the bytes used (0: hidden), or -1
 * if it does not fit in room. */
static int64_t msg_put(const nl_view *v, uint32_t kernel_portid, uint32_t client_portid,
                       const struct nlmsghdr *nlh, size_t size, uint8_t *o, size_t room)
{
        bool route = nlh->nlmsg_type == RTM_NEWROUTE || nlh->nlmsg_type == RTM_DELROUTE;
        route_table_at t = { 0 };

        if (route && !route_visible(v, kernel_portid, nlh, &t))
                return 0;
        if (!route && !nlview_msg_visible(v, nlh))
                return 0;
        if (size > room)
                return -1;
        memset(o, 0, size);
        memcpy(o, nlh, nlh->nlmsg_len);
        if (nlh->nlmsg_pid == kernel_portid)
                memcpy(o + offsetof(struct nlmsghdr, nlmsg_pid), &client_portid, sizeof(client_portid));
        if (route && t.table == v->table)
                route_rename(o, &t);
        if (!route)
                nlview_msg_rewrite((struct nlmsghdr *)o);
        return (int64_t)size;
}

size_t nlrw_datagram(const nl_view *v, uint32_t kernel_portid, uint32_t client_portid,
                     const void *in, size_t len, void *out, size_t cap)
{
        const uint8_t *p = in;
        uint8_t *o = out;
        size_t off = 0, n = 0;

        if (!v || !in || !out)
                return 0;
        while (msg_ok(p + off, len - off)) {
                const struct nlmsghdr *nlh = (const struct nlmsghdr *)(p + off);
                /* Never longer than the input: an unaligned last message
                 * (the kernel sends none) is not padded. */
                size_t size = MNL_ALIGN((size_t)nlh->nlmsg_len);
                int64_t used;

                if (size > len - off)
                        size = len - off;
                used = msg_put(v, kernel_portid, client_portid, nlh, size, o + n, cap - n);
                if (used < 0)
                        break;
                n += (size_t)used;
                off += size;
        }
        return n;
}
