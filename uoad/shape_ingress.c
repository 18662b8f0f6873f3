/* uoad/shape_ingress.c: incoming traffic shaping (§3 ingress): an IFB per
 * interface that a slice with an ingress rate may use, everything arriving
 * on the interface redirected to it (ingress qdisc, u32 match-all, mirred),
 * and on the IFB an HTB like the egress one, classified by destination
 * address (and port block, on a shared address) with u32. Like shape.c: a
 * diff against our own objects, SIGTERM removes the IFBs and redirects. */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "uoad/rtnl.h"
#include "uoad/shape_ingress.h"
#include "uoad/shape_internal.h"

/* Our filters: the redirect on an interface's ingress qdisc, and on its IFB
 * one u32 node per (address, port block), a priority per family (at most
 * 4095 nodes each: u32's node ids are 12 bits). */
#define PRIO_REDIRECT 30049 /* 0x7561 */
#define PRIO_V4 1
#define PRIO_V6 2
#define INGRESS_PARENT TC_H_MAKE(TC_H_INGRESS, 0)

/* A u32 node: keys to a class, in bucket table ht; or (link != 0) the one
 * node of a priority's root table that hashes into table link. */
typedef struct sfilter {
        uint32_t prio, handle, classid;
        uint16_t proto; /* host order */
        uint32_t ht, link, hoff, hmask;
        uint32_t nkeys;
        struct tc_u32_key keys[6];
} sfilter;

/* On the IFB, each family's nodes hang in a 256-bucket table chosen by the
 * destination address's last byte: a lookup walks one bucket, not every
 * slice's nodes (unshaped packets pass the IFB too). */
#define HT_V4 0x10000000u /* u32 table 100: */
#define HT_V6 0x10100000u /* u32 table 101: */
#define HT_BUCKETS 256u

typedef struct sfilters {
        sfilter *v;
        size_t n, cap;
        bool failed;
} sfilters;

static void ifb_name(int ifindex, char *buf, size_t len)
{
        snprintf(buf, len, POLICY_SHAPE_IFB_PREFIX "%d", ifindex);
}

/* The interface an IFB of ours serves, or 0 for another name. */
int shape_ifb_of(const char *name)
{
        size_t n = strlen(POLICY_SHAPE_IFB_PREFIX);
        char *end;
        long v;

        if (strncmp(name, POLICY_SHAPE_IFB_PREFIX, n) != 0)
                return 0;
        v = strtol(name + n, &end, 10);
        return *end || v <= 0 || v > INT32_MAX ? 0 : (int) v;
}

/* Create the IFB (up); 1 if it is new, 0 if it was there, or -errno. */
static int ifb_create(int fd, const char *name)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct ifinfomsg *ifi;
        struct nlattr *info;
        int r;

        nlh->nlmsg_type = RTM_NEWLINK;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_flags = ifi->ifi_change = IFF_UP;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "ifb");
        mnl_attr_nest_end(nlh, info);
        r = rtnl_talk(fd, nlh);
        return r == -EEXIST ? 0 : r < 0 ? r : 1;
}

static int ifb_delete(int fd, const char *name)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        int r;

        nlh->nlmsg_type = RTM_DELLINK;
        mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        r = rtnl_talk(fd, nlh);
        return r == -ENODEV || r == -ENOENT ? 0 : r;
}

static int filter_parse(const struct nlmsghdr *nlh, void *data)
{
        const struct nlattr *tb[ATTR_MAX] = {}, *opt[ATTR_MAX] = {};
        const struct tcmsg *tcm = shape_msg_parse(nlh, sizeof(*tcm), tb);
        sfilter f = {};

        if (!tcm || !tb[TCA_KIND] || mnl_attr_validate(tb[TCA_KIND], MNL_TYPE_NUL_STRING) < 0 ||
            strcmp(mnl_attr_get_str(tb[TCA_KIND]), "u32") != 0)
                return MNL_CB_OK;
        f.prio = TC_H_MAJ(tcm->tcm_info) >> 16;
        f.proto = ntohs((uint16_t) TC_H_MIN(tcm->tcm_info));
        f.handle = tcm->tcm_handle;
        if (tb[TCA_OPTIONS] && mnl_attr_parse_nested(tb[TCA_OPTIONS], shape_attr_cb, opt) >= 0) {
                if (opt[TCA_U32_CLASSID] && mnl_attr_get_payload_len(opt[TCA_U32_CLASSID]) == 4)
                        f.classid = mnl_attr_get_u32(opt[TCA_U32_CLASSID]);
                if (opt[TCA_U32_LINK] && mnl_attr_get_payload_len(opt[TCA_U32_LINK]) == 4)
                        f.link = mnl_attr_get_u32(opt[TCA_U32_LINK]);
                if (opt[TCA_U32_SEL] && mnl_attr_get_payload_len(opt[TCA_U32_SEL]) >= sizeof(struct tc_u32_sel)) {
                        const struct tc_u32_sel *sel = mnl_attr_get_payload(opt[TCA_U32_SEL]);

                        if (f.link) {
                                f.hoff = (uint32_t) sel->hoff;
                                f.hmask = sel->hmask;
                        }
                        if (sel->nkeys <= ELEMENTSOF(f.keys) &&
                            mnl_attr_get_payload_len(opt[TCA_U32_SEL]) >= sizeof(*sel) + sel->nkeys * sizeof(f.keys[0])) {
                                f.nkeys = sel->nkeys;
                                memcpy(f.keys, sel->keys, f.nkeys * sizeof(f.keys[0]));
                        }
                }
        }
        if (TC_H_MIN(f.handle) == 0 && f.prio != PRIO_REDIRECT)
                return MNL_CB_OK; /* a hash table, not a node */
        f.ht = f.link ? 0 : f.handle & 0xfffff000u; /* link nodes sit in a root table of the kernel's choice */
        return VEC_PUSH((sfilters *) data, f) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int filters_dump(int fd, int ifindex, uint32_t parent, sfilters *ret)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

        shape_tc_header(nlh, RTM_GETTFILTER, 0, ifindex, 0, parent);
        return rtnl_dump(fd, nlh, filter_parse, ret);
}

static bool filter_same(const sfilter *a, const sfilter *b)
{
        return a->prio == b->prio && a->proto == b->proto && a->classid == b->classid && a->ht == b->ht &&
               a->link == b->link && a->hoff == b->hoff && a->hmask == b->hmask && a->nkeys == b->nkeys &&
               memcmp(a->keys, b->keys, a->nkeys * sizeof(a->keys[0])) == 0;
}

static const sfilter *filter_find(const sfilters *l, const sfilter *f)
{
        for (size_t i = 0; i < l->n; i++)
                if (filter_same(&l->v[i], f))
                        return &l->v[i];
        return NULL;
}

/* A u32 filter: f's keys to f's class, or (redirect_to > 0) everything to
 * that device's egress (mirred), terminal either way. */
static int filter_send(int fd, int type, int ifindex, uint32_t parent, const sfilter *f, int redirect_to)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct {
                struct tc_u32_sel sel;
                struct tc_u32_key keys[ELEMENTSOF(f->keys)];
        } s = { .sel = { .flags = f->link ? 0 : TC_U32_TERMINAL, .nkeys = (unsigned char) f->nkeys,
                         .hoff = (short) f->hoff, .hmask = f->hmask } };
        struct nlattr *opts, *acts, *act, *aopts;
        struct tcmsg *tcm;

        tcm = shape_tc_header(nlh, type, type == RTM_NEWTFILTER ? NLM_F_CREATE | NLM_F_EXCL : 0, ifindex, f->handle, parent);
        tcm->tcm_info = TC_H_MAKE(f->prio << 16, htons(f->proto));
        mnl_attr_put_strz(nlh, TCA_KIND, "u32");
        if (type == RTM_DELTFILTER)
                return rtnl_talk(fd, nlh);
        memcpy(s.keys, f->keys, f->nkeys * sizeof(f->keys[0]));
        opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
        mnl_attr_put(nlh, TCA_U32_SEL, sizeof(s.sel) + f->nkeys * sizeof(s.keys[0]), &s);
        if (redirect_to > 0) {
                struct tc_mirred m = { .action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR,
                                       .ifindex = (uint32_t) redirect_to };

                acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
                act = mnl_attr_nest_start(nlh, 1);
                mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
                aopts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
                mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(m), &m);
                mnl_attr_nest_end(nlh, aopts);
                mnl_attr_nest_end(nlh, act);
                mnl_attr_nest_end(nlh, acts);
        } else if (f->link)
                mnl_attr_put_u32(nlh, TCA_U32_LINK, f->link);
        else {
                mnl_attr_put_u32(nlh, TCA_U32_CLASSID, f->classid);
                if (f->ht)
                        mnl_attr_put_u32(nlh, TCA_U32_HASH, f->ht); /* the kernel picks the node id */
        }
        mnl_attr_nest_end(nlh, opts);
        return rtnl_talk(fd, nlh);
}

static void key_put(sfilter *f, uint32_t off, const void *val, uint32_t mask)
{
        uint32_t v;

        memcpy(&v, val, 4);
        f->keys[f->nkeys++] = (struct tc_u32_key){ .mask = mask, .val = v & mask, .off = (int) off };
}

/* Destination address (and port block) keys, at the fixed offsets of a
 * header without IPv4 options or IPv6 extension headers. */
static void filter_want(const policy_shape_slice *ss, const policy_shape_key *k, void *userdata)
{
        sfilters *want = userdata;
        bool v4 = k->addr.family == AF_INET;
        uint32_t l4 = v4 ? 20 : 40;
        uint8_t last = k->addr.bytes[v4 ? 3 : 15];
        sfilter f = { .prio = v4 ? PRIO_V4 : PRIO_V6, .proto = v4 ? ETH_P_IP : ETH_P_IPV6,
                      .classid = POLICY_SHAPE_CLASSID(ss->minor), .ht = (v4 ? HT_V4 : HT_V6) | ((uint32_t) last << 12) };

        for (uint32_t i = 0; i < (v4 ? 1u : 4u); i++)
                key_put(&f, (v4 ? 16 : 24) + 4 * i, k->addr.bytes + 4 * i, 0xffffffffu);
        if (k->port_mask) {
                uint32_t port = htonl(k->port), mask = htonl(k->port_mask);

                key_put(&f, l4, &port, mask);
        }
        if (VEC_PUSH(want, f) < 0)
                want->failed = true;
}

static void slice_filters_want(const policy_shape_slice *ss, uint64_t bps, void *userdata)
{
        (void) bps;
        policy_shape_keys(ss, filter_want, userdata);
}

/* A family's bucket table and the node that hashes into it by the
 * destination address's last byte. */
static int family_tables(int fd, int ifb, bool v4, sfilters *want)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct tcmsg *tcm;
        struct nlattr *opts;
        sfilter link = { .prio = v4 ? PRIO_V4 : PRIO_V6, .proto = v4 ? ETH_P_IP : ETH_P_IPV6,
                         .link = v4 ? HT_V4 : HT_V6, .hoff = v4 ? 16 : 36, .hmask = htonl(0xff), .nkeys = 1 };
        int r;

        tcm = shape_tc_header(nlh, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifb, link.link, HANDLE);
        tcm->tcm_info = TC_H_MAKE(link.prio << 16, htons(link.proto));
        mnl_attr_put_strz(nlh, TCA_KIND, "u32");
        opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
        mnl_attr_put_u32(nlh, TCA_U32_DIVISOR, HT_BUCKETS);
        mnl_attr_nest_end(nlh, opts);
        r = rtnl_talk(fd, nlh);
        if (r < 0 && r != -EEXIST)
                return r;
        return VEC_PUSH(want, link);
}

/* New nodes get their handle from the kernel: u32's hash tables are shared
 * by every priority of a qdisc, each priority's root table has its own id. */
static int ifb_filters_sync(int fd, int ifb, sfilters *want)
{
        sfilters have = {};
        bool v4 = false, v6 = false;
        int r = 0;

        for (size_t i = 0; i < want->n; i++) {
                v4 |= want->v[i].prio == PRIO_V4;
                v6 |= want->v[i].prio == PRIO_V6;
        }
        if (v4)
                r = family_tables(fd, ifb, true, want);
        if (r == 0 && v6)
                r = family_tables(fd, ifb, false, want);
        if (r == 0)
                r = filters_dump(fd, ifb, HANDLE, &have);

        for (size_t i = 0; r == 0 && i < want->n; i++)
                if (!filter_find(&have, &want->v[i]))
                        r = filter_send(fd, RTM_NEWTFILTER, ifb, HANDLE, &want->v[i], 0);
        for (size_t i = 0; r == 0 && i < have.n; i++)
                if (!filter_find(want, &have.v[i]))
                        r = filter_send(fd, RTM_DELTFILTER, ifb, HANDLE, &have.v[i], 0);
        free(have.v);
        return r;
}

/* Our redirect's priority, as one filter to delete whole (handle 0), or NULL. */
static const sfilter *redirect_find(const sfilters *l, size_t *ret_others)
{
        static const sfilter all = { .prio = PRIO_REDIRECT, .proto = ETH_P_ALL };
        const sfilter *found = NULL;
        size_t others = 0;

        for (size_t i = 0; i < l->n; i++) {
                if (l->v[i].prio == PRIO_REDIRECT)
                        found = &all;
                else
                        others++;
        }
        if (ret_others)
                *ret_others = others;
        return found;
}

static int ingress_qdisc(int fd, int type, int ifindex)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        int r;

        shape_tc_header(nlh, type, type == RTM_NEWQDISC ? NLM_F_CREATE | NLM_F_EXCL : 0, ifindex, INGRESS_PARENT,
                  TC_H_INGRESS);
        mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
        r = rtnl_talk(fd, nlh);
        return r == -EEXIST || r == -ENOENT || r == -EINVAL ? 0 : r;
}

/* Everything arriving on ifindex to the IFB's egress; kept when it is there
 * and the IFB is not new (a redirect to a deleted device would drop). */
static int redirect_sync(int fd, int ifindex, int ifb, bool ifb_new)
{
        static const sfilter all = { .prio = PRIO_REDIRECT, .proto = ETH_P_ALL, .nkeys = 1 };
        sfilters have = {};
        int r = ingress_qdisc(fd, RTM_NEWQDISC, ifindex);
        const sfilter *old;

        if (r == 0)
                r = filters_dump(fd, ifindex, INGRESS_PARENT, &have);
        old = redirect_find(&have, NULL);
        if (r == 0 && old && ifb_new)
                r = filter_send(fd, RTM_DELTFILTER, ifindex, INGRESS_PARENT, old, 0);
        if (r == 0 && (!old || ifb_new))
                r = filter_send(fd, RTM_NEWTFILTER, ifindex, INGRESS_PARENT, &all, ifb);
        free(have.v);
        return r;
}

/* No more ingress shaping on ifindex: our redirect goes, the ingress qdisc
 * too when nothing else is left on it, then the IFB. */
static int ingress_remove(int fd, int ifindex, const char *ifb)
{
        sfilters have = {};
        const sfilter *old;
        size_t others;
        int r = filters_dump(fd, ifindex, INGRESS_PARENT, &have);

        if (r == -ENOENT || r == -EINVAL || r == -ENODEV)
                r = 0, have.n = 0;
        old = redirect_find(&have, &others);
        if (r == 0 && old)
                r = filter_send(fd, RTM_DELTFILTER, ifindex, INGRESS_PARENT, old, 0);
        if (r == 0 && old && others == 0)
                r = ingress_qdisc(fd, RTM_DELQDISC, ifindex);
        free(have.v);
        return r == 0 ? ifb_delete(fd, ifb) : r;
}

static bool link_has(const slinks *links, const char *name)
{
        for (size_t i = 0; i < links->n; i++)
                if (strcmp(links->v[i].name, name) == 0)
                        return true;
        return false;
}

int shape_ingress_sync(int fd, const policy_shape *sh, const slink *l, const slinks *links, sqdiscs *roots)
{
        sclasses want = {};
        sfilters fwant = {};
        char name[IFNAMSIZ];
        int r, ifb, created;

        ifb_name(l->ifindex, name, sizeof(name));
        if (!policy_shape_classes(sh, l->name, true, shape_class_want, &want))
                return link_has(links, name) ? ingress_remove(fd, l->ifindex, name) : 0;
        policy_shape_classes(sh, l->name, true, slice_filters_want, &fwant);
        r = want.failed || fwant.failed ? -ENOMEM : 0;
        created = r == 0 ? ifb_create(fd, name) : r;
        r = created < 0 ? created : 0;
        ifb = r == 0 ? (int) if_nametoindex(name) : 0;
        if (r == 0 && ifb <= 0)
                r = -ENODEV;
        if (r == 0)
                r = shape_htb_sync(fd, ifb, &want, roots);
        if (r == 0)
                r = ifb_filters_sync(fd, ifb, &fwant);
        if (r == 0)
                r = redirect_sync(fd, l->ifindex, ifb, created == 1);
        free(want.v);
        free(fwant.v);
        return r;
}

/* IFBs of ours whose interface is gone. */
int shape_ifb_strays_remove(int fd, const slinks *links)
{
        int r = 0;

        for (size_t i = 0; r == 0 && i < links->n; i++) {
                int of = shape_ifb_of(links->v[i].name);
                bool found = false;

                for (size_t j = 0; of && j < links->n; j++)
                        found |= links->v[j].ifindex == of;
                if (of && !found)
                        r = ifb_delete(fd, links->v[i].name);
        }
        return r;
}
