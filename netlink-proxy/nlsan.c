/* netlink-proxy/nlsan.c: the rtnetlink request sanitizer (strict allow-list
 * parsing and rewriting of what a slice sends) and the kernel-format error
 * and done answers. Pure: no I/O, no logging. */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>

#include "common/macro.h"
#include "netlink-proxy/nlproxy.h"

/* RTA_FLOWLABEL (route lookups, kernel 6.14) is newer than some uapi headers. */
#define NLSAN_RTA_FLOWLABEL 31
#define NLSAN_RTA_MAX (RTA_MAX > NLSAN_RTA_FLOWLABEL ? RTA_MAX : NLSAN_RTA_FLOWLABEL)

/* How an attribute of a request is checked. */
typedef enum attr_kind {
        ATTR_NO = 0,    /* not on the allow-list */
        ATTR_ADDR,      /* an address of rtm_family: 4 or 16 bytes */
        ATTR_U8,
        ATTR_U16,
        ATTR_U32,
        ATTR_NESTED,    /* well-formed attributes, copied as they are */
        ATTR_VIA,       /* struct rtvia with an IPv4 or IPv6 address */
        ATTR_MULTIPATH, /* struct rtnexthop entries */
        ATTR_STRIP,     /* kernel-reported state echoed back (iproute2's flush
                         * sends dumped routes as deletes): accepted, not sent */
} attr_kind;

/* RTM_NEWROUTE / RTM_DELROUTE. */
static const uint8_t route_change_kinds[NLSAN_RTA_MAX + 1] = {
        [RTA_DST] = ATTR_ADDR,        [RTA_SRC] = ATTR_ADDR,
        [RTA_OIF] = ATTR_U32,         [RTA_GATEWAY] = ATTR_ADDR,
        [RTA_PRIORITY] = ATTR_U32,    [RTA_PREFSRC] = ATTR_ADDR,
        [RTA_METRICS] = ATTR_NESTED,  [RTA_MULTIPATH] = ATTR_MULTIPATH,
        [RTA_TABLE] = ATTR_U32,       [RTA_PREF] = ATTR_U8,
        [RTA_EXPIRES] = ATTR_U32,     [RTA_VIA] = ATTR_VIA,
        [RTA_FLOW] = ATTR_U32,        [RTA_CACHEINFO] = ATTR_STRIP,
};

/* RTM_GETROUTE without NLM_F_DUMP (a route lookup). RTA_TABLE is parsed only
 * to be refused with a clear message. */
static const uint8_t route_get_kinds[NLSAN_RTA_MAX + 1] = {
        [RTA_DST] = ATTR_ADDR,        [RTA_SRC] = ATTR_ADDR,
        [RTA_IIF] = ATTR_U32,         [RTA_OIF] = ATTR_U32,
        [RTA_UID] = ATTR_U32,
        [RTA_IP_PROTO] = ATTR_U8,     [RTA_SPORT] = ATTR_U16,
        [RTA_DPORT] = ATTR_U16,       [NLSAN_RTA_FLOWLABEL] = ATTR_U32,
        [RTA_TABLE] = ATTR_U32,
};

/* The attributes of one multipath hop. */
static const uint8_t hop_kinds[NLSAN_RTA_MAX + 1] = {
        [RTA_GATEWAY] = ATTR_ADDR,
        [RTA_VIA] = ATTR_VIA,
};

/* A route request being checked. */
typedef struct route_req {
        const nl_view *view;
        const struct nlmsghdr *nlh;
        struct rtmsg rtm;
        const void *attrs; /* after struct rtmsg */
        size_t attrs_len;
        unsigned addr_len; /* 4 or 16, from rtm_family */
        const struct nlattr *tb[NLSAN_RTA_MAX + 1];
        nlsan_verdict *vd;
} route_req;

_printf_(3, 4)
static int refuse(nlsan_verdict *vd, int error, const char *fmt, ...)
{
        va_list ap;

        *vd = (nlsan_verdict){ .action = NLSAN_REFUSE, .error = error };
        va_start(ap, fmt);
        vsnprintf(vd->msg, sizeof(vd->msg), fmt, ap);
        va_end(ap);
        return error;
}

static int refuse_nexthop(nlsan_verdict *vd)
{
        return refuse(vd, -EOPNOTSUPP, "uoa: nexthop objects are global to the host; use gateways");
}

static int refuse_table(nlsan_verdict *vd, uint32_t table)
{
        return refuse(vd, -EPERM, "uoa: table %u is not this slice's (its own table is shown as main)",
                      table);
}

static int refuse_too_large(nlsan_verdict *vd)
{
        return refuse(vd, -ENOBUFS, "uoa: request too large");
}

static unsigned family_addr_len(int family)
{
        return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* Table 0 (unspecified) and 254 (main) are what the slice calls its table. */
static bool table_is_own(const nl_view *v, uint32_t table)
{
        return table == RT_TABLE_UNSPEC || table == RT_TABLE_MAIN || table == v->table;
}

/* rtm_table of a rewritten request: ids above 255 only fit RTA_TABLE. */
static uint8_t header_table(const nl_view *v)
{
        return v->table < 256 ? (uint8_t)v->table : RT_TABLE_UNSPEC;
}

static int check_via(const struct nlattr *a)
{
        const struct rtvia *via = mnl_attr_get_payload(a);
        size_t len = mnl_attr_get_payload_len(a);

        if (len < sizeof(*via))
                return -EINVAL;
        if (len - sizeof(*via) != family_addr_len(via->rtvia_family))
                return -EINVAL;
        return 0;
}

/* The size rule of kind for a; 0 or -EINVAL. */
static int check_size(const struct nlattr *a, attr_kind kind, unsigned addr_len)
{
        switch (kind) {
        case ATTR_ADDR:
                return mnl_attr_validate2(a, MNL_TYPE_BINARY, addr_len) < 0 ? -EINVAL : 0;
        case ATTR_U8:
                return mnl_attr_validate(a, MNL_TYPE_U8) < 0 ? -EINVAL : 0;
        case ATTR_U16:
                return mnl_attr_validate(a, MNL_TYPE_U16) < 0 ? -EINVAL : 0;
        case ATTR_U32:
                return mnl_attr_validate(a, MNL_TYPE_U32) < 0 ? -EINVAL : 0;
        case ATTR_NESTED:
                return mnl_attr_validate(a, MNL_TYPE_NESTED) < 0 ? -EINVAL : 0;
        case ATTR_VIA:
                return check_via(a);
        case ATTR_MULTIPATH:
                return 0; /* walked on its own */
        case ATTR_STRIP:
                return mnl_attr_get_payload_len(a) <= sizeof(struct rta_cacheinfo) ? 0 : -EINVAL;
        default:
                return -EINVAL;
        }
}

/* One pass over the attributes in [p, p+len) against an allow-list. */
typedef struct attr_walk {
        const uint8_t *kinds;        /* NLSAN_RTA_MAX + 1 entries */
        unsigned addr_len;
        const struct nlattr **tb;    /* NLSAN_RTA_MAX + 1 entries, zeroed */
        const char *where;           /* "" or " in a multipath hop" */
        nlsan_verdict *vd;
        const uint8_t *base;
        size_t end;                  /* offset after the last attribute */
        int error;
} attr_walk;

static int attr_walk_one(const struct nlattr *a, void *data)
{
        attr_walk *w = data;
        uint16_t type = mnl_attr_get_type(a);

        w->end = (size_t)((const uint8_t *)a - w->base) + MNL_ALIGN(a->nla_len);
        if (type == RTA_ENCAP || type == RTA_ENCAP_TYPE)
                w->error = refuse(w->vd, -EPERM, "uoa: lightweight tunnel encapsulation is not permitted");
        else if (type == RTA_NH_ID)
                w->error = refuse_nexthop(w->vd);
        else if (type > NLSAN_RTA_MAX || w->kinds[type] == ATTR_NO)
                w->error = refuse(w->vd, -EINVAL, "uoa: unknown route attribute %u%s", type, w->where);
        else if (w->tb[type])
                w->error = refuse(w->vd, -EINVAL, "uoa: duplicate route attribute %u%s", type, w->where);
        else if (check_size(a, w->kinds[type], w->addr_len) < 0)
                w->error = refuse(w->vd, -EINVAL, "uoa: bad length of route attribute %u%s", type, w->where);
        else
                w->tb[type] = a;
        return w->error < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Parse attributes strictly: known, single, of the right size, and nothing
 * after the last one (libmnl's walk stops silently at a malformed header). */
static int attrs_parse(attr_walk *w, const void *p, size_t len)
{
        w->base = p;
        w->end = 0;
        w->error = 0;
        if (mnl_attr_parse_payload(p, len, attr_walk_one, w) < 0)
                return w->error < 0 ? w->error : refuse(w->vd, -EINVAL, "uoa: malformed route attributes");
        if (w->end < len)
                return refuse(w->vd, -EINVAL, "uoa: malformed route attributes%s", w->where);
        return 0;
}

/* A well-formed nest (RTA_METRICS): the kernel checks its contents. */
static int nest_check(const struct nlattr *nest)
{
        const uint8_t *p = mnl_attr_get_payload(nest);
        size_t len = mnl_attr_get_payload_len(nest), off = 0;

        while (off < len) {
                const struct nlattr *a = (const struct nlattr *)(p + off);

                if (!mnl_attr_ok(a, (int)(len - off)))
                        return -EINVAL;
                off += MNL_ALIGN(a->nla_len);
        }
        return 0;
}

/* An output interface must be one the slice lists (when it lists any). */
static int interface_check(const nl_view *v, uint32_t ifindex, nlsan_verdict *vd)
{
        char name[IFNAMSIZ] = "";

        if (v->slice->n_ifnames == 0)
                return 0;
        if (ifindex == 0 || ifindex > INT_MAX || !v->ifname_of ||
            v->ifname_of((int)ifindex, name, v->userdata) < 0)
                return refuse(vd, -EPERM, "uoa: unknown interface %u", ifindex);
        name[IFNAMSIZ - 1] = '\0';
        if (!policy_slice_may_use_interface(v->slice, name))
                return refuse(vd, -EPERM, "uoa: interface %s is not this slice's", name);
        return 0;
}

/* One struct rtnexthop, rtnh_len checked by the caller. A hop
 * without an interface (ifindex 0) is resolved by the kernel through its
 * gateway, as a route without RTA_OIF is. */
static int hop_check(const route_req *r, const struct rtnexthop *nh)
{
        const struct nlattr *tb[NLSAN_RTA_MAX + 1] = {};
        attr_walk w = {
                .kinds = hop_kinds, .addr_len = r->addr_len, .tb = tb,
                .where = " in a multipath hop", .vd = r->vd,
        };
        int err;

        if (nh->rtnh_ifindex != 0) {
                err = interface_check(r->view, (uint32_t)nh->rtnh_ifindex, r->vd);
                if (err < 0)
                        return err;
        }
        return attrs_parse(&w, (const uint8_t *)nh + sizeof(*nh), nh->rtnh_len - sizeof(*nh));
}

static int multipath_check(const route_req *r, const struct nlattr *mp)
{
        const uint8_t *p = mnl_attr_get_payload(mp);
        size_t len = mnl_attr_get_payload_len(mp), off = 0;

        while (off < len) {
                const struct rtnexthop *nh = (const struct rtnexthop *)(p + off);
                int err;

                if (len - off < sizeof(*nh) || nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > len - off)
                        return refuse(r->vd, -EINVAL, "uoa: bad length of route attribute %u",
                                      RTA_MULTIPATH);
                err = hop_check(r, nh);
                if (err < 0)
                        return err;
                off += RTNH_ALIGN(nh->rtnh_len);
        }
        return 0;
}

/* The header of a route change: family, prefix lengths, type, protocol. */
static int route_change_header(const route_req *r)
{
        const struct rtmsg *rtm = &r->rtm;
        unsigned max = r->addr_len * 8;
        bool del = r->nlh->nlmsg_type == RTM_DELROUTE;

        if (r->addr_len == 0)
                return refuse(r->vd, -EAFNOSUPPORT, "uoa: address family %u is not supported for routes",
                              rtm->rtm_family);
        if (rtm->rtm_dst_len > max || rtm->rtm_src_len > max)
                return refuse(r->vd, -EINVAL, "uoa: prefix length longer than %u", max);
        switch (rtm->rtm_type) {
        case RTN_UNICAST:
        case RTN_BLACKHOLE:
        case RTN_UNREACHABLE:
        case RTN_PROHIBIT:
                break;
        case RTN_UNSPEC:
                if (del)
                        break;
                __attribute__((fallthrough));
        default:
                return refuse(r->vd, -EPERM,
                              "uoa: route type %u is not permitted (unicast, blackhole, unreachable, prohibit)",
                              rtm->rtm_type);
        }
        if (rtm->rtm_protocol == NLPROXY_GUARD_PROTO)
                return refuse(r->vd, -EPERM, "uoa: protocol %u is reserved for uoad", NLPROXY_GUARD_PROTO);
        return 0;
}

static int prefsrc_check(const route_req *r)
{
        const struct nlattr *a = r->tb[RTA_PREFSRC];
        uoa_addr addr = { .family = r->rtm.rtm_family };
        char text[UOA_ADDR_STRLEN];

        if (!a)
                return 0;
        memcpy(addr.bytes, mnl_attr_get_payload(a), r->addr_len);
        if (policy_slice_address(r->view->slice, &addr))
                return 0;
        return refuse(r->vd, -EPERM, "uoa: preferred source %s is not this slice's address",
                      uoa_addr_format(&addr, text, sizeof(text)));
}

static uint32_t route_metric(const route_req *r)
{
        return r->tb[RTA_PRIORITY] ? mnl_attr_get_u32(r->tb[RTA_PRIORITY]) : 0;
}

/* uoad's throw route (guard.c) is the only default route of the worst
 * metric: an add or replace of a default with it would replace that route
 * (the kernel replaces the first of the same prefix and metric) or make it
 * look present to the relay's check when it is gone. */
static int guard_metric_check(const route_req *r)
{
        if (r->nlh->nlmsg_type != RTM_NEWROUTE || r->rtm.rtm_dst_len != 0 ||
            route_metric(r) != NLPROXY_GUARD_METRIC)
                return 0;
        return refuse(r->vd, -EPERM, "uoa: metric %u on a default route is reserved for uoad",
                      NLPROXY_GUARD_METRIC);
}

/* Whether the kernel may match this delete to uoad's throw route. It
 * matches on what a delete names only, so one of the default prefix that
 * names no protocol (250 is refused) and no other metric matches that route
 * whenever no route of the slice fits first. Which one it hits depends on
 * the table's contents, which the sanitizer does not see: the relay checks
 * afterwards. */
static bool route_may_delete_guard(const route_req *r)
{
        uint32_t metric = route_metric(r);

        return r->nlh->nlmsg_type == RTM_DELROUTE && r->rtm.rtm_dst_len == 0 &&
               r->rtm.rtm_protocol == RTPROT_UNSPEC && (metric == 0 || metric == NLPROXY_GUARD_METRIC);
}

/* Everything about a route change but the output; 0 or the refusal. */
static int route_change_check(route_req *r)
{
        attr_walk w = {
                .kinds = route_change_kinds, .addr_len = r->addr_len, .tb = r->tb,
                .where = "", .vd = r->vd,
        };
        uint32_t table = r->rtm.rtm_table;
        int err;

        err = route_change_header(r);
        if (err < 0)
                return err;
        err = attrs_parse(&w, r->attrs, r->attrs_len);
        if (err < 0)
                return err;
        if (r->tb[RTA_TABLE])
                table = mnl_attr_get_u32(r->tb[RTA_TABLE]);
        if (!table_is_own(r->view, table))
                return refuse_table(r->vd, table);
        if (r->tb[RTA_METRICS] && nest_check(r->tb[RTA_METRICS]) < 0)
                return refuse(r->vd, -EINVAL, "uoa: bad length of route attribute %u", RTA_METRICS);
        err = guard_metric_check(r);
        if (err < 0)
                return err;
        err = prefsrc_check(r);
        if (err < 0)
                return err;
        if (r->tb[RTA_OIF]) {
                err = interface_check(r->view, mnl_attr_get_u32(r->tb[RTA_OIF]), r->vd);
                if (err < 0)
                        return err;
        }
        if (r->tb[RTA_MULTIPATH])
                return multipath_check(r, r->tb[RTA_MULTIPATH]);
        return 0;
}

/* Start out as a copy of the request's nlmsghdr and struct rtmsg. */
static struct rtmsg *route_out_start(const route_req *r, struct nlmsghdr *out, size_t cap)
{
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;

        if (!out || cap < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtmsg)))
                return NULL;
        nlh = mnl_nlmsg_put_header(out);
        nlh->nlmsg_type = r->nlh->nlmsg_type;
        nlh->nlmsg_flags = r->nlh->nlmsg_flags;
        nlh->nlmsg_seq = r->nlh->nlmsg_seq;
        nlh->nlmsg_pid = r->nlh->nlmsg_pid;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        *rtm = r->rtm;
        return rtm;
}

/* Copy the request's attributes in order; skip (0: none) is left out, and
 * RTA_TABLE, if the allow-list let it through, names the slice's table. */
static bool route_out_copy_attrs(const route_req *r, struct nlmsghdr *out, size_t cap, uint16_t skip)
{
        const struct nlattr *attr;

        mnl_attr_for_each_payload(r->attrs, r->attrs_len) {
                uint16_t type = mnl_attr_get_type(attr);
                bool ok;

                if ((skip != 0 && type == skip) || type == RTA_CACHEINFO)
                        continue;
                if (type == RTA_TABLE)
                        ok = mnl_attr_put_u32_check(out, cap, RTA_TABLE, r->view->table);
                else
                        ok = mnl_attr_put_check(out, cap, attr->nla_type, mnl_attr_get_payload_len(attr),
                                                mnl_attr_get_payload(attr));
                if (!ok)
                        return false;
        }
        return true;
}

static int route_change_build(const route_req *r, struct nlmsghdr *out, size_t cap)
{
        const policy_address *src = NULL;
        struct rtmsg *rtm = route_out_start(r, out, cap);

        if (!rtm)
                return refuse_too_large(r->vd);
        rtm->rtm_table = header_table(r->view);
        if (!route_out_copy_attrs(r, out, cap, 0))
                return refuse_too_large(r->vd);
        if (!r->tb[RTA_TABLE] && !mnl_attr_put_u32_check(out, cap, RTA_TABLE, r->view->table))
                return refuse_too_large(r->vd);
        if (r->nlh->nlmsg_type == RTM_NEWROUTE && r->rtm.rtm_type == RTN_UNICAST && !r->tb[RTA_PREFSRC])
                src = policy_slice_primary(r->view->slice, r->rtm.rtm_family);
        if (src && !mnl_attr_put_check(out, cap, RTA_PREFSRC, r->addr_len, src->addr.bytes))
                return refuse_too_large(r->vd);
        return 0;
}

/* The request's struct rtmsg (the caller checked the length). */
static void route_req_init(route_req *r, const nl_view *v, const struct nlmsghdr *nlh,
                           nlsan_verdict *vd)
{
        *r = (route_req){ .view = v, .nlh = nlh, .vd = vd };
        memcpy(&r->rtm, mnl_nlmsg_get_payload(nlh), sizeof(r->rtm));
        r->attrs = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct rtmsg));
        r->attrs_len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(struct rtmsg));
        r->addr_len = family_addr_len(r->rtm.rtm_family);
}

static bool payload_fits(const struct nlmsghdr *nlh, size_t hdr)
{
        return mnl_nlmsg_get_payload_len(nlh) >= NLMSG_ALIGN(hdr);
}

static int refuse_short(nlsan_verdict *vd)
{
        return refuse(vd, -EINVAL, "uoa: message too short for its header");
}

/* RTM_NEWROUTE, RTM_DELROUTE. */
static int route_change(const nl_view *v, const struct nlmsghdr *in, struct nlmsghdr *out,
                        size_t cap, nlsan_verdict *vd)
{
        route_req r;
        int err;

        if (!v->may_write)
                return refuse(vd, -EPERM, "uoa: this slice has no routing table; routes are read-only");
        if (!payload_fits(in, sizeof(struct rtmsg)))
                return refuse_short(vd);
        route_req_init(&r, v, in, vd);
        err = route_change_check(&r);
        if (err < 0)
                return err;
        err = route_change_build(&r, out, cap);
        if (err == 0)
                vd->guard_check = route_may_delete_guard(&r);
        return err;
}

/* The table a dump asks for: RTA_TABLE among its filter attributes, if the
 * attribute area is well-formed. The other filters are dropped with the
 * rest of the request, so they need no allow-list; a malformed area is
 * ignored as the kernel ignores it without strict checking (old iproute2
 * sends a struct ifinfomsg here). */
static int dump_table_attr(const struct nlmsghdr *in, uint32_t *table, nlsan_verdict *vd)
{
        const uint8_t *p = mnl_nlmsg_get_payload_offset(in, sizeof(struct rtmsg));
        size_t len = mnl_nlmsg_get_payload_len(in) - NLMSG_ALIGN(sizeof(struct rtmsg)), off = 0;
        bool seen = false;

        while (off < len) {
                const struct nlattr *a = (const struct nlattr *)(p + off);

                if (!mnl_attr_ok(a, (int)(len - off)))
                        break;
                if (mnl_attr_get_type(a) == RTA_TABLE) {
                        if (seen)
                                return refuse(vd, -EINVAL, "uoa: duplicate route attribute %u", RTA_TABLE);
                        if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
                                return refuse(vd, -EINVAL, "uoa: bad length of route attribute %u", RTA_TABLE);
                        *table = mnl_attr_get_u32(a);
                        seen = true;
                }
                off += MNL_ALIGN(a->nla_len);
        }
        return 0;
}

/* RTM_GETROUTE with NLM_F_DUMP, rebuilt from scratch: the kernel's strict
 * checking (NETLINK_GET_STRICT_CHK, 4.20) refuses stray header fields, and
 * the filter on the slice's table is what the dump must show. */
static int route_dump(const nl_view *v, const struct nlmsghdr *in, struct nlmsghdr *out,
                      size_t cap, nlsan_verdict *vd)
{
        const uint8_t *payload = mnl_nlmsg_get_payload(in);
        uint32_t table = RT_TABLE_UNSPEC, hdr_table = RT_TABLE_UNSPEC;
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;
        int err;

        /* An old client's struct rtgenmsg is only the family. */
        if (mnl_nlmsg_get_payload_len(in) < 1)
                return refuse_short(vd);
        if (payload_fits(in, sizeof(struct rtmsg))) {
                hdr_table = payload[offsetof(struct rtmsg, rtm_table)];
                table = hdr_table;
                err = dump_table_attr(in, &table, vd);
                if (err < 0)
                        return err;
        }
        /* A header copied from a kernel reply says RT_TABLE_COMPAT beside a large RTA_TABLE. */
        if (table != hdr_table && hdr_table == RT_TABLE_COMPAT)
                hdr_table = RT_TABLE_UNSPEC;
        if (!table_is_own(v, hdr_table))
                return refuse_table(vd, hdr_table);
        if (!table_is_own(v, table))
                return refuse_table(vd, table);
        if (!out || cap < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*rtm)) + MNL_ATTR_HDRLEN + sizeof(uint32_t))
                return refuse_too_large(vd);
        nlh = mnl_nlmsg_put_header(out);
        nlh->nlmsg_type = in->nlmsg_type;
        nlh->nlmsg_flags = in->nlmsg_flags;
        nlh->nlmsg_seq = in->nlmsg_seq;
        nlh->nlmsg_pid = in->nlmsg_pid;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = payload[0];
        rtm->rtm_table = header_table(v);
        mnl_attr_put_u32(nlh, RTA_TABLE, v->table);
        return 0;
}

/* RTM_GETROUTE without NLM_F_DUMP: a lookup, as the slice's uid (the uid
 * rules of the kernel guard pick the slice's table). */
static int route_get(const nl_view *v, const struct nlmsghdr *in, struct nlmsghdr *out,
                     size_t cap, nlsan_verdict *vd)
{
        route_req r;
        attr_walk w = { .kinds = route_get_kinds, .tb = r.tb, .where = "", .vd = vd };
        int err;

        if (!payload_fits(in, sizeof(struct rtmsg)))
                return refuse_short(vd);
        route_req_init(&r, v, in, vd);
        if (r.addr_len == 0)
                return refuse(vd, -EAFNOSUPPORT, "uoa: address family %u is not supported for routes",
                              r.rtm.rtm_family);
        w.addr_len = r.addr_len;
        err = attrs_parse(&w, r.attrs, r.attrs_len);
        if (err < 0)
                return err;
        if (r.tb[RTA_TABLE])
                return refuse(vd, -EPERM, "uoa: a route lookup cannot name a table");
        if (!route_out_start(&r, out, cap) || !route_out_copy_attrs(&r, out, cap, RTA_UID) ||
            !mnl_attr_put_u32_check(out, cap, RTA_UID, (uint32_t)v->uid))
                return refuse_too_large(vd);
        return 0;
}

/* Whether a read names another network namespace: a target nsid, or a
 * namespace fd or pid. uoad's socket would resolve it with uoad's privilege
 * (CAP_NET_ADMIN over every namespace) and an fd in uoad's own table; a
 * slice reads its own namespace only. */
static bool names_another_netns(const struct nlmsghdr *in, size_t hdr)
{
        const struct nlattr *a;

        if (!payload_fits(in, hdr))
                return false; /* an old client's bare rtgenmsg: no attributes */
        mnl_attr_for_each(a, in, hdr) {
                uint16_t t = mnl_attr_get_type(a);

                switch (in->nlmsg_type) {
                case RTM_GETLINK:
                        if (t == IFLA_TARGET_NETNSID || t == IFLA_NET_NS_FD || t == IFLA_NET_NS_PID)
                                return true;
                        break;
                case RTM_GETADDR:
                        if (t == IFA_TARGET_NETNSID)
                                return true;
                        break;
                case RTM_GETNSID:
                        if (t == NETNSA_FD || t == NETNSA_PID || t == NETNSA_TARGET_NSID)
                                return true;
                        break;
                }
        }
        return false;
}

/* What any user may read: forwarded unchanged. A dump may carry only an old
 * client's struct rtgenmsg (glibc, older tools), which the kernel accepts. */
static int read_only(const struct nlmsghdr *in, size_t hdr, struct nlmsghdr *out, size_t cap,
                     nlsan_verdict *vd)
{
        bool dump = in->nlmsg_flags & NLM_F_DUMP;

        if (names_another_netns(in, hdr))
                return refuse(vd, -EPERM, "uoa: a slice reads its own network namespace only");

        if (!payload_fits(in, hdr) && !(dump && mnl_nlmsg_get_payload_len(in) >= 1))
                return refuse_short(vd);
        if (!out || in->nlmsg_len > cap)
                return refuse_too_large(vd);
        memcpy(out, in, in->nlmsg_len);
        return 0;
}

static int dispatch(const nl_view *v, const struct nlmsghdr *in, struct nlmsghdr *out, size_t cap,
                    nlsan_verdict *vd)
{
        /* The kernel takes either bit of NLM_F_DUMP as a dump request. */
        bool dump = in->nlmsg_flags & NLM_F_DUMP;

        switch (in->nlmsg_type) {
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
                return route_change(v, in, out, cap, vd);
        case RTM_GETROUTE:
                return dump ? route_dump(v, in, out, cap, vd) : route_get(v, in, out, cap, vd);
        case RTM_GETLINK:
                /* No message: a hidden link is one that does not exist. */
                if (nlview_getlink_check(v, in) < 0) {
                        *vd = (nlsan_verdict){ .action = NLSAN_REFUSE, .error = -ENODEV };
                        return 0;
                }
                return read_only(in, sizeof(struct ifinfomsg), out, cap, vd);
        case RTM_GETADDR:
                return read_only(in, sizeof(struct ifaddrmsg), out, cap, vd);
        case RTM_GETNEIGH:
                return read_only(in, sizeof(struct ndmsg), out, cap, vd);
        case RTM_GETNETCONF:
                return read_only(in, sizeof(struct netconfmsg), out, cap, vd);
        case RTM_GETNSID: /* ip monitor asks; the kernel answers any user */
                return read_only(in, sizeof(struct rtgenmsg), out, cap, vd);
        case RTM_GETRULE:
                if (dump) {
                        *vd = (nlsan_verdict){ .action = NLSAN_EMPTY_DUMP };
                        return 0;
                }
                __attribute__((fallthrough));
        case RTM_NEWRULE:
        case RTM_DELRULE:
                return refuse(vd, -EPERM, "uoa: routing rules are the host's");
        case RTM_NEWADDR:
        case RTM_DELADDR:
                return refuse(vd, -EPERM, "uoa: addresses are assigned by the uoa policy");
        case RTM_NEWLINK:
        case RTM_DELLINK:
        case RTM_SETLINK:
                return refuse(vd, -EPERM, "uoa: interfaces are the host's");
        case RTM_NEWNEIGH:
        case RTM_DELNEIGH:
                return refuse(vd, -EPERM, "uoa: neighbour entries are the host's");
        case RTM_NEWNEXTHOP:
        case RTM_DELNEXTHOP:
        case RTM_GETNEXTHOP:
                return refuse_nexthop(vd);
        default:
                return refuse(vd, -EOPNOTSUPP, "uoa: netlink message type %u is not supported for slices",
                              in->nlmsg_type);
        }
}

int nlsan_request(const nl_view *v, const struct nlmsghdr *in, size_t len,
                  struct nlmsghdr *out, size_t out_cap, nlsan_verdict *ret)
{
        nlsan_verdict vd = { .action = NLSAN_FORWARD };

        if (!v || !v->slice || !in || !ret)
                return -EINVAL;
        /* The kernel drops these silently too (netlink_rcv_skb()). */
        if (len < NLMSG_HDRLEN || in->nlmsg_len < NLMSG_HDRLEN || in->nlmsg_len > len)
                return -EINVAL;
        /* NOOP, ERROR, DONE, OVERRUN: nothing a request carries. */
        if (in->nlmsg_type < NLMSG_MIN_TYPE)
                return -EINVAL;
        if (out_cap > 0 && !out)
                return -EINVAL;
        (void)dispatch(v, in, out, out_cap, &vd);
        *ret = vd;
        return 0;
}

/* As the kernel's netlink_ack() (net/netlink/af_netlink.c): the request is
 * echoed whole unless the socket set NETLINK_CAP_ACK or this is a plain ack
 * (error 0), which is NLM_F_CAPPED; the message TLV with NETLINK_EXT_ACK. */
size_t nlsan_error_build(const struct nlmsghdr *req, int error, const char *msg, bool cap_ack,
                         bool ext_ack, uint32_t portid, void *buf, size_t cap)
{
        bool capped = cap_ack || error == 0, tlv = ext_ack && msg;
        size_t echo, total;
        struct nlmsghdr *nlh;
        struct nlmsgerr *err;

        if (!req || !buf)
                return 0;
        echo = capped || req->nlmsg_len < NLMSG_HDRLEN ? 0 : req->nlmsg_len - NLMSG_HDRLEN;
        total = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*err)) + MNL_ALIGN(echo);
        if (tlv)
                total += MNL_ALIGN(MNL_ATTR_HDRLEN + strlen(msg) + 1);
        if (total > cap || total > UINT32_MAX)
                return 0;
        memset(buf, 0, total);
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = NLMSG_ERROR;
        nlh->nlmsg_flags = (capped ? NLM_F_CAPPED : 0) | (tlv ? NLM_F_ACK_TLVS : 0);
        nlh->nlmsg_seq = req->nlmsg_seq;
        nlh->nlmsg_pid = portid;
        err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));
        err->error = error;
        err->msg = *req;
        if (echo > 0) {
                memcpy((uint8_t *)buf + nlh->nlmsg_len, mnl_nlmsg_get_payload(req), echo);
                nlh->nlmsg_len += MNL_ALIGN(echo);
        }
        if (tlv)
                mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
        return nlh->nlmsg_len;
}

size_t nlsan_done_build(const struct nlmsghdr *req, uint32_t portid, void *buf, size_t cap)
{
        return nlsan_dump_error_build(req, 0, NULL, false, portid, buf, cap);
}

/* As the kernel's netlink_dump_done(): a dump ends with NLMSG_DONE carrying
 * the dump's errno, and with NETLINK_EXT_ACK the message as an
 * NLMSGERR_ATTR_MSG attribute (NLM_F_ACK_TLVS). iproute2 prints a dump's
 * failure reason only from there. */
size_t nlsan_dump_error_build(const struct nlmsghdr *req, int error, const char *msg, bool ext_ack,
                              uint32_t portid, void *buf, size_t cap)
{
        size_t need = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(error));
        struct nlmsghdr *nlh;

        if (ext_ack && msg)
                need += MNL_ATTR_HDRLEN + MNL_ALIGN(strlen(msg) + 1);
        if (!req || !buf || cap < need)
                return 0;
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = NLMSG_DONE;
        nlh->nlmsg_flags = NLM_F_MULTI;
        nlh->nlmsg_seq = req->nlmsg_seq;
        nlh->nlmsg_pid = portid;
        memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(error)), &error, sizeof(error));
        if (ext_ack && msg) {
                nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
                mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
        }
        return nlh->nlmsg_len;
}
