/* uoad/shape.c: per-slice bandwidth (§3 egress/ingress) programmed from
 * policy/policy_shape.c's plan over rtnetlink (libmnl), as guard.c programs
 * rules: an HTB qdisc POLICY_SHAPE_MAJOR: as root of every interface a shaped
 * slice may use, one class per slice, an unlimited default class for
 * everyone else (the guard's nft map sets a shaped slice's class as
 * skb->priority). Reapplying is a diff against our own objects: classes are
 * added or changed before unwanted ones go, and only those that differ are
 * touched. A root qdisc that was not the kernel's default (an admin's) is
 * kept in the kernel as the default class's leaf, so unshaped traffic
 * still goes through it, and a uoad after a crash finds it there; SIGTERM
 * deletes our qdisc, which gives the interface back its default one, and
 * re-creates the admin's as root (its own classes and filters, if it had
 * any, are not carried over). A crash keeps everything; the next uoad
 * adopts it. Incoming traffic (IFBs): shape_ingress.c.
 *
 * Not `tc` in a shell: no PATH or fork in a root daemon, and the class diff
 * needs what the kernel has anyway. */
#include <errno.h>
#include <linux/gen_stats.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/strbuf.h"
#include "policy/policy_shape.h"
#include "uoad/rtnl.h"
#include "uoad/shape.h"
#include "uoad/shape_ingress.h"
#include "uoad/shape_internal.h"

int shape_attr_cb(const struct nlattr *a, void *data)
{
        const struct nlattr **tb = data;
        unsigned type = mnl_attr_get_type(a);

        if (type < ATTR_MAX)
                tb[type] = a;
        return MNL_CB_OK;
}

/* The fixed header of a kernel message and its attributes in tb, or NULL
 * for a message too short to hold them. */
const void *shape_msg_parse(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb)
{
        if (mnl_nlmsg_get_payload_len(nlh) < hdrlen || mnl_attr_parse(nlh, (unsigned) hdrlen, shape_attr_cb, tb) < 0)
                return NULL;
        return mnl_nlmsg_get_payload(nlh);
}

/* ---- links -------------------------------------------------------------------------------- */

static int link_parse(const struct nlmsghdr *nlh, void *data)
{
        const struct nlattr *tb[ATTR_MAX] = {};
        const struct ifinfomsg *ifi = shape_msg_parse(nlh, sizeof(*ifi), tb);
        slink l = {};

        if (!ifi || !tb[IFLA_IFNAME] || mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0)
                return MNL_CB_OK;
        l.ifindex = ifi->ifi_index;
        snprintf(l.name, sizeof(l.name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
        return VEC_PUSH((slinks *) data, l) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Dump everything of type (a zeroed header of hdrlen: every interface) to cb. */
static int dump_all(int fd, int type, size_t hdrlen, mnl_cb_t cb, void *data)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

        nlh->nlmsg_type = (uint16_t) type;
        mnl_nlmsg_put_extra_header(nlh, hdrlen);
        return rtnl_dump(fd, nlh, cb, data);
}

int shape_links_dump(int fd, slinks *ret)
{
        return dump_all(fd, RTM_GETLINK, sizeof(struct ifinfomsg), link_parse, ret);
}

/* ---- root qdiscs -------------------------------------------------------------------------- */

static int qdisc_parse(const struct nlmsghdr *nlh, void *data)
{
        const struct nlattr *tb[ATTR_MAX] = {};
        const struct tcmsg *tcm = shape_msg_parse(nlh, sizeof(*tcm), tb);
        sqdisc q = {};

        if (!tcm || (tcm->tcm_parent != TC_H_ROOT && tcm->tcm_parent != POLICY_SHAPE_CLASSID(POLICY_SHAPE_DEFAULT)) ||
            !tb[TCA_KIND] || mnl_attr_validate(tb[TCA_KIND], MNL_TYPE_NUL_STRING) < 0)
                return MNL_CB_OK;
        q.ifindex = tcm->tcm_ifindex;
        q.handle = tcm->tcm_handle;
        q.parent = tcm->tcm_parent;
        snprintf(q.kind, sizeof(q.kind), "%s", mnl_attr_get_str(tb[TCA_KIND]));
        /* The kernel's default root qdiscs have handle 0: deleting ours
         * brings them back by themselves. Another one is kept to re-create. */
        if (q.handle != 0 && q.handle != HANDLE) {
                struct nlmsghdr *m;

                q.msg = calloc(1, MNL_SOCKET_BUFFER_SIZE);
                if (!q.msg)
                        return MNL_CB_ERROR;
                m = mnl_nlmsg_put_header(q.msg);
                memcpy(mnl_nlmsg_put_extra_header(m, sizeof(*tcm)), tcm, sizeof(*tcm));
                mnl_attr_put_strz(m, TCA_KIND, q.kind);
                if (tb[TCA_OPTIONS] && mnl_attr_get_payload_len(tb[TCA_OPTIONS]) < MNL_SOCKET_BUFFER_SIZE / 2)
                        mnl_attr_put(m, TCA_OPTIONS, mnl_attr_get_payload_len(tb[TCA_OPTIONS]),
                                     mnl_attr_get_payload(tb[TCA_OPTIONS]));
        }
        if (VEC_PUSH((sqdiscs *) data, q) < 0) {
                free(q.msg);
                return MNL_CB_ERROR;
        }
        return MNL_CB_OK;
}

static void sqdiscs_done(sqdiscs *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].msg);
        free(l->v);
        *l = (sqdiscs){};
}

static int qdiscs_dump(int fd, sqdiscs *ret)
{
        return dump_all(fd, RTM_GETQDISC, sizeof(struct tcmsg), qdisc_parse, ret);
}

static sqdisc *qdisc_find(sqdiscs *l, int ifindex, uint32_t parent)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].ifindex == ifindex && l->v[i].parent == parent)
                        return &l->v[i];
        return NULL;
}

/* Re-create q (saved with its kind and options) under parent. */
static int qdisc_recreate(int fd, const sqdisc *q, uint32_t parent)
{
        struct nlmsghdr *m = (struct nlmsghdr *) q->msg;
        struct tcmsg *tcm = mnl_nlmsg_get_payload(m);

        m->nlmsg_type = RTM_NEWQDISC;
        m->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
        tcm->tcm_parent = parent;
        tcm->tcm_handle = q->handle;
        return rtnl_talk(fd, m);
}

static bool qdisc_ours(const sqdisc *q)
{
        return q && q->handle == HANDLE && strcmp(q->kind, "htb") == 0;
}

struct tcmsg *shape_tc_header(struct nlmsghdr *nlh, int type, uint16_t flags, int ifindex, uint32_t handle,
                               uint32_t parent)
{
        struct tcmsg *tcm;

        nlh->nlmsg_type = (uint16_t) type;
        nlh->nlmsg_flags = flags;
        tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
        tcm->tcm_family = AF_UNSPEC;
        tcm->tcm_ifindex = ifindex;
        tcm->tcm_handle = handle;
        tcm->tcm_parent = parent;
        return tcm;
}

/* Our HTB as the interface's root; unclassified packets to the default class. */
static int qdisc_create(int fd, int ifindex)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct tc_htb_glob g = { .version = TC_HTB_PROTOVER, .rate2quantum = 10, .defcls = POLICY_SHAPE_DEFAULT };
        struct nlattr *opts;

        shape_tc_header(nlh, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE, ifindex, HANDLE, TC_H_ROOT);
        mnl_attr_put_strz(nlh, TCA_KIND, "htb");
        opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
        mnl_attr_put(nlh, TCA_HTB_INIT, sizeof(g), &g);
        mnl_attr_nest_end(nlh, opts);
        return rtnl_talk(fd, nlh);
}

/* Delete our root qdisc: the kernel attaches its default one; the admin's
 * that we kept as our default class's leaf (leaf, if any) goes back as root. */
static int qdisc_restore(int fd, int ifindex, const sqdisc *leaf)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        int r;

        shape_tc_header(nlh, RTM_DELQDISC, 0, ifindex, HANDLE, TC_H_ROOT);
        r = rtnl_talk(fd, nlh);
        if (r == -ENOENT || r == -ENODEV || r == -EINVAL)
                r = 0; /* gone already, with the interface or by hand */
        if (r == 0 && leaf && leaf->msg)
                r = qdisc_recreate(fd, leaf, TC_H_ROOT);
        return r;
}

/* ---- classes ------------------------------------------------------------------------------ */

static uint32_t ticks_of(uint32_t burst, uint64_t rate)
{
        uint64_t t = (uint64_t) burst * 1000000000ull / (rate ? rate : 1) / PSCHED_TICK_NS;

        return t > UINT32_MAX ? UINT32_MAX : (uint32_t) t;
}

static sclass class_planned(uint16_t minor, uint64_t bps)
{
        policy_shape_htb h;

        policy_shape_htb_params(bps, &h);
        return (sclass){ .minor = minor, .rate = h.rate, .buffer = ticks_of(h.burst, h.rate), .quantum = h.quantum };
}

static void stats_parse(const struct nlattr *stats2, sclass *c)
{
        const struct nlattr *tb[ATTR_MAX] = {};

        if (mnl_attr_parse_nested(stats2, shape_attr_cb, tb) < 0)
                return;
        if (tb[TCA_STATS_BASIC] && mnl_attr_get_payload_len(tb[TCA_STATS_BASIC]) >= sizeof(struct gnet_stats_basic)) {
                struct gnet_stats_basic b;

                memcpy(&b, mnl_attr_get_payload(tb[TCA_STATS_BASIC]), sizeof(b));
                c->bytes = b.bytes;
                c->packets = b.packets;
        }
        if (tb[TCA_STATS_QUEUE] && mnl_attr_get_payload_len(tb[TCA_STATS_QUEUE]) >= sizeof(struct gnet_stats_queue)) {
                struct gnet_stats_queue q;

                memcpy(&q, mnl_attr_get_payload(tb[TCA_STATS_QUEUE]), sizeof(q));
                c->drops = q.drops;
                c->overlimits = q.overlimits;
        }
}

static int class_parse(const struct nlmsghdr *nlh, void *data)
{
        const struct nlattr *tb[ATTR_MAX] = {}, *opt[ATTR_MAX] = {};
        const struct tcmsg *tcm = shape_msg_parse(nlh, sizeof(*tcm), tb);
        sclass c = {};

        if (!tcm || TC_H_MAJ(tcm->tcm_handle) != HANDLE || !tb[TCA_OPTIONS] ||
            mnl_attr_parse_nested(tb[TCA_OPTIONS], shape_attr_cb, opt) < 0)
                return MNL_CB_OK;
        c.minor = (uint16_t) TC_H_MIN(tcm->tcm_handle);
        if (opt[TCA_HTB_PARMS] && mnl_attr_get_payload_len(opt[TCA_HTB_PARMS]) >= sizeof(struct tc_htb_opt)) {
                struct tc_htb_opt o;

                memcpy(&o, mnl_attr_get_payload(opt[TCA_HTB_PARMS]), sizeof(o));
                c.rate = o.rate.rate;
                c.buffer = o.buffer;
                c.quantum = o.quantum;
        }
        if (opt[TCA_HTB_RATE64] && mnl_attr_get_payload_len(opt[TCA_HTB_RATE64]) == sizeof(uint64_t))
                c.rate = mnl_attr_get_u64(opt[TCA_HTB_RATE64]);
        if (tb[TCA_STATS2])
                stats_parse(tb[TCA_STATS2], &c);
        return VEC_PUSH((sclasses *) data, c) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int classes_dump(int fd, int ifindex, sclasses *ret)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

        shape_tc_header(nlh, RTM_GETTCLASS, 0, ifindex, 0, 0);
        return rtnl_dump(fd, nlh, class_parse, ret);
}

static const sclass *class_find(const sclasses *l, uint16_t minor)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].minor == minor)
                        return &l->v[i];
        return NULL;
}

static int class_send(int fd, int type, int ifindex, const sclass *c)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct tc_htb_opt o = {};
        struct nlattr *opts;
        bool wide = c->rate > UINT32_MAX;

        shape_tc_header(nlh, type, type == RTM_NEWTCLASS ? NLM_F_CREATE : 0, ifindex, POLICY_SHAPE_CLASSID(c->minor),
                  HANDLE);
        if (type == RTM_DELTCLASS)
                return rtnl_talk(fd, nlh);
        mnl_attr_put_strz(nlh, TCA_KIND, "htb");
        /* A link-layer-aware rate needs no rate table (kernel 3.11). */
        o.rate.rate = o.ceil.rate = wide ? UINT32_MAX : (uint32_t) c->rate;
        o.rate.linklayer = o.ceil.linklayer = TC_LINKLAYER_ETHERNET;
        o.buffer = o.cbuffer = c->buffer;
        o.quantum = c->quantum;
        opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
        mnl_attr_put(nlh, TCA_HTB_PARMS, sizeof(o), &o);
        if (wide) {
                mnl_attr_put_u64(nlh, TCA_HTB_RATE64, c->rate);
                mnl_attr_put_u64(nlh, TCA_HTB_CEIL64, c->rate);
        }
        mnl_attr_nest_end(nlh, opts);
        return rtnl_talk(fd, nlh);
}

void shape_class_want(const policy_shape_slice *ss, uint64_t bps, void *userdata)
{
        sclasses *want = userdata;

        if (VEC_PUSH(want, class_planned(ss->minor, bps)) < 0)
                want->failed = true;
}

/* Bring the classes of our qdisc on ifindex to `want`: create or change
 * what differs first, then delete what is no longer wanted. */
static int classes_sync(int fd, int ifindex, const sclasses *want)
{
        sclasses have = {};
        int r = classes_dump(fd, ifindex, &have);

        for (size_t i = 0; r == 0 && i < want->n; i++) {
                const sclass *w = &want->v[i], *h = class_find(&have, w->minor);

                if (!h || h->rate != w->rate || h->buffer != w->buffer || h->quantum != w->quantum)
                        r = class_send(fd, RTM_NEWTCLASS, ifindex, w);
        }
        for (size_t i = 0; r == 0 && i < have.n; i++)
                if (!class_find(want, have.v[i].minor))
                        r = class_send(fd, RTM_DELTCLASS, ifindex, &have.v[i]);
        free(have.v);
        return r;
}

/* ---- apply and remove --------------------------------------------------------------------- */

/* Our HTB on ifindex with the classes `want` (the default class added
 * here), or, with none wanted, no HTB of ours. */
int shape_htb_sync(int fd, int ifindex, sclasses *want, sqdiscs *roots)
{
        const sqdisc *root = qdisc_find(roots, ifindex, TC_H_ROOT);
        bool ours = qdisc_ours(root);
        int r = 0;

        if (want->n == 0)
                return ours ? qdisc_restore(fd, ifindex,
                                            qdisc_find(roots, ifindex, POLICY_SHAPE_CLASSID(POLICY_SHAPE_DEFAULT)))
                            : 0;
        if (VEC_PUSH(want, class_planned(POLICY_SHAPE_DEFAULT, POLICY_SHAPE_UNLIMITED)) < 0 || want->failed)
                r = -ENOMEM;
        if (r == 0 && !ours)
                r = qdisc_create(fd, ifindex);
        if (r == 0)
                r = classes_sync(fd, ifindex, want);
        /* Best effort: a root-only qdisc (mq, mqprio) cannot be a leaf; it
         * is then not re-created on SIGTERM (the kernel's default is). */
        if (r == 0 && !ours && root && root->msg)
                (void) qdisc_recreate(fd, root, POLICY_SHAPE_CLASSID(POLICY_SHAPE_DEFAULT));
        return r;
}

static int egress_sync(int fd, const policy_shape *sh, const slink *l, sqdiscs *roots)
{
        sclasses want = {};
        int r;

        policy_shape_classes(sh, l->name, false, shape_class_want, &want);
        r = shape_htb_sync(fd, l->ifindex, &want, roots);
        free(want.v);
        return r;
}

int shape_apply(const policy *p, char *err, size_t errlen)
{
        _cleanup_close_ int fd = -1;
        policy_shape sh = {};
        slinks links = {};
        sqdiscs roots = {};
        const char *what = "interfaces";
        int r;

        r = policy_shape_build(p, &sh);
        if (r == -E2BIG) {
                snprintf(err, errlen, "shaping: more than %u slices with a rate", POLICY_SHAPE_SLICES_MAX);
                return r;
        }
        fd = rtnl_open();
        if (r == 0 && fd < 0)
                r = fd;
        if (r == 0)
                r = shape_links_dump(fd, &links);
        if (r == 0) {
                what = "qdiscs";
                r = qdiscs_dump(fd, &roots);
        }
        for (size_t i = 0; r == 0 && i < links.n; i++) {
                if (policy_shape_interface_exempt(links.v[i].name))
                        continue;
                what = links.v[i].name;
                r = egress_sync(fd, &sh, &links.v[i], &roots);
                if (r == 0)
                        r = shape_ingress_sync(fd, &sh, &links.v[i], &links, &roots);
        }
        if (r == 0)
                r = shape_ifb_strays_remove(fd, &links);
        if (r < 0)
                snprintf(err, errlen, "shaping (%s): %s", what, strerror(-r));
        sqdiscs_done(&roots);
        free(links.v);
        policy_shape_done(&sh);
        return r;
}

int shape_remove(void)
{
        policy *none = policy_new_empty();
        char err[256];
        int r;

        if (!none)
                return -ENOMEM;
        r = shape_apply(none, err, sizeof(err));
        policy_free(none);
        return r;
}

/* ---- counters ----------------------------------------------------------------------------- */

typedef struct slice_count {
        uint64_t bytes, packets, drops, overlimits;
} slice_count;

static void counts_add(const policy_shape *sh, const sclasses *have, slice_count *sum)
{
        for (size_t i = 0; i < have->n; i++) {
                const policy_shape_slice *ss = policy_shape_find_minor(sh, have->v[i].minor);

                if (!ss)
                        continue;
                sum[ss - sh->v].bytes += have->v[i].bytes;
                sum[ss - sh->v].packets += have->v[i].packets;
                sum[ss - sh->v].drops += have->v[i].drops;
                sum[ss - sh->v].overlimits += have->v[i].overlimits;
        }
}

static void count_format(strbuf *b, uid_t uid, const char *dir, const slice_count *c)
{
        strbuf_printf(b, "%u %s %llu %llu %llu %llu\n", uid, dir, (unsigned long long) c->bytes,
                      (unsigned long long) c->packets, (unsigned long long) c->drops,
                      (unsigned long long) c->overlimits);
}

void shape_stats_format(const policy *p, strbuf *b, const uid_t *only_uid)
{
        _cleanup_close_ int fd = rtnl_open();
        _cleanup_free_ slice_count *egress = NULL, *ingress = NULL;
        policy_shape sh = {};
        slinks links = {};
        sqdiscs roots = {};

        if (fd < 0 || policy_shape_build(p, &sh) < 0 || sh.n == 0 || !(egress = calloc(sh.n, sizeof(*egress))) ||
            !(ingress = calloc(sh.n, sizeof(*ingress))) ||
            shape_links_dump(fd, &links) < 0 || qdiscs_dump(fd, &roots) < 0)
                goto out;
        for (size_t i = 0; i < links.n; i++) {
                sclasses have = {};

                if (!qdisc_ours(qdisc_find(&roots, links.v[i].ifindex, TC_H_ROOT)))
                        continue;
                /* An IFB of ours carries what its interface received. */
                if (classes_dump(fd, links.v[i].ifindex, &have) == 0)
                        counts_add(&sh, &have, shape_ifb_of(links.v[i].name) ? ingress : egress);
                free(have.v);
        }
        for (size_t i = 0; i < sh.n; i++) {
                const policy_slice *s = sh.v[i].slice;

                if (only_uid && s->uid != *only_uid)
                        continue;
                if (s->egress)
                        count_format(b, s->uid, "egress", &egress[i]);
                if (s->ingress)
                        count_format(b, s->uid, "ingress", &ingress[i]);
        }
out:
        sqdiscs_done(&roots);
        free(links.v);
        policy_shape_done(&sh);
}
