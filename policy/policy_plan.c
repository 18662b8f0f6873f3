/* policy/policy_plan.c: the nftables half of the kernel guard, planned from a
 * policy as one nft script. Lookups are set memberships keyed by the socket
 * owner's uid, so the per-packet cost does not grow with the slice count.
 *
 * A slice's packet leaves with one of the slice's sources (on a shared
 * address, a source port of its range) or, through lo only, a loopback
 * source; everything else is dropped, whatever the output interface. lo is
 * no exemption: a local receiver trusts the source it sees as much as a
 * remote one does, and IP_PKTINFO, raw sockets with IP_HDRINCL and the
 * kernel's own choice for an unbound socket (the destination itself, for a
 * local address) can all put another source on a packet to a local address.
 * What only lo is spared is the interface list: loopback works for every
 * slice, as on an ordinary host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/strbuf.h"
#include "policy/policy.h"
#include "policy/policy_shape.h"

/* Protocols whose packets carry ports at the transport header (th sport). */
#define PORTED "{ tcp, udp, udplite, sctp, dccp }"

/* The table's sets, in the script's order: name and type. */
enum { SET_SLICES, SET_IFSLICES, SET_IFACES, SET_ADDR4, SET_ADDR6, SET_PORT4, SET_PORT6, SET_PORTLESS4, SET_PORTLESS6,
       _SET_MAX };
static const char *const set_decl[_SET_MAX][2] = {
        { "slices", "uid" },
        { "ifslices", "uid" },
        { "ifaces", "uid . ifname" },
        { "addr4", "uid . ipv4_addr" },
        { "addr6", "uid . ipv6_addr" },
        { "port4", "uid . ipv4_addr . inet_service; flags interval" },
        { "port6", "uid . ipv6_addr . inet_service; flags interval" },
        { "portless4", "uid . ipv4_addr" },
        { "portless6", "uid . ipv6_addr" },
};

#define ELEM_MAX (UOA_ADDR_STRLEN + POLICY_IFNAME_MAX + 32)
typedef void (*elem_fn)(int set, const char *elem, void *userdata);

/* Every element slice s puts in the sets: its uid in slices (and in
 * ifslices, with each interface in ifaces, when it lists interfaces); each
 * dedicated address in addr4/addr6; each shared one with its range in
 * port4/port6 and without in portless4/portless6 (protocols without ports
 * may use a shared address too: ICMP, raw). */
static void slice_elements(const policy_slice *s, elem_fn emit, void *userdata)
{
        char a[UOA_ADDR_STRLEN], e[ELEM_MAX];

        snprintf(e, sizeof(e), "%u", s->uid);
        emit(SET_SLICES, e, userdata);
        if (s->n_ifnames)
                emit(SET_IFSLICES, e, userdata);
        for (size_t j = 0; j < s->n_ifnames; j++) {
                snprintf(e, sizeof(e), "%u . \"%s\"", s->uid, s->ifnames[j]);
                emit(SET_IFACES, e, userdata);
        }
        for (size_t j = 0; j < s->n_addrs; j++) {
                const policy_address *pa = &s->addrs[j];
                bool v4 = pa->addr.family == AF_INET;

                uoa_addr_format(&pa->addr, a, sizeof(a));
                snprintf(e, sizeof(e), "%u . %s", s->uid, a);
                if (!pa->shared) {
                        emit(v4 ? SET_ADDR4 : SET_ADDR6, e, userdata);
                        continue;
                }
                emit(v4 ? SET_PORTLESS4 : SET_PORTLESS6, e, userdata);
                snprintf(e, sizeof(e), "%u . %s . %u-%u", s->uid, a, pa->port_lo, pa->port_hi);
                emit(v4 ? SET_PORT4 : SET_PORT6, e, userdata);
        }
}

/* Elements gathered set by set, for the script. */
typedef struct set_text {
        strbuf b[_SET_MAX];
        bool any[_SET_MAX];
} set_text;

static void elem_append(int set, const char *elem, void *userdata)
{
        set_text *t = userdata;

        strbuf_printf(&t->b[set], "%s%s", t->any[set] ? ", " : "", elem);
        t->any[set] = true;
}

/* "PREFIX NAME { ELEMENTS }" for each set with elements; frees t's text. */
static void sets_write(strbuf *out, set_text *t, const char *prefix, bool decl)
{
        for (int i = 0; i < _SET_MAX; i++) {
                _cleanup_free_ char *e = strbuf_done(&t->b[i]);

                if (!e && t->any[i])
                        out->failed = true;
                if (decl)
                        strbuf_printf(out, "  set %s { type %s;%s%s%s }\n", set_decl[i][0], set_decl[i][1],
                                      t->any[i] ? " elements = { " : "", t->any[i] && e ? e : "",
                                      t->any[i] ? " }" : "");
                else if (t->any[i])
                        strbuf_printf(out, "%s %s { %s }\n", prefix, set_decl[i][0], e ? e : "");
        }
}

/* Egress shaping (policy_shape.h): a shaped slice's packets carry its HTB
 * class as skb->priority, whatever the socket set with SO_PRIORITY, so every
 * process of the slice shares its class, supervised or not. */
static int plan_shape(strbuf *b, const policy *p)
{
        policy_shape sh;
        bool first = true;
        int r = policy_shape_build(p, &sh);

        if (r < 0)
                return r;
        strbuf_printf(b, "  map shape { type uid : classid;");
        for (size_t i = 0; i < sh.n; i++) {
                if (!sh.v[i].slice->egress)
                        continue;
                strbuf_printf(b, "%s %u : %x:%x", first ? " elements = {" : ",", sh.v[i].slice->uid,
                              POLICY_SHAPE_MAJOR, sh.v[i].minor);
                first = false;
        }
        strbuf_printf(b, "%s }\n", first ? "" : " }");
        policy_shape_done(&sh);
        return 0;
}

char *policy_plan_nft(const policy *p)
{
        set_text t = {};
        strbuf b = {};

        for (size_t i = 0; i < policy_slice_count(p); i++)
                slice_elements(policy_slice_at(p, i), elem_append, &t);
        /* Declaring then deleting makes the script valid whether or not the
         * table exists; nft applies the whole buffer as one transaction. */
        strbuf_printf(&b, "table inet %s {}\ndelete table inet %s\ntable inet %s {\n", POLICY_NFT_TABLE,
                      POLICY_NFT_TABLE, POLICY_NFT_TABLE);
        sets_write(&b, &t, NULL, true);
        if (plan_shape(&b, p) < 0) {
                free(strbuf_done(&b));
                return NULL;
        }
        strbuf_printf(&b,
                      "  chain output {\n"
                      "    type filter hook output priority filter; policy accept;\n"
                      /* A lookup that finds no class ends the rule, nothing else. */
                      "    meta priority set meta skuid map @shape\n"
                      "    meta skuid != @slices accept\n"
                      /* 127/8 and ::1 are no one's identity, and the kernel
                       * routes a packet with such a source through lo only
                       * (route_localnet aside); a raw packet that claims one
                       * elsewhere falls to the drop below. */
                      "    oif \"lo\" ip saddr 127.0.0.0/8 accept\n"
                      "    oif \"lo\" ip6 saddr ::1 accept\n"
                      /* An interface list restricts the wire, not loopback. */
                      "    oif != \"lo\" meta skuid @ifslices meta skuid . oifname != @ifaces counter drop\n"
                      "    meta skuid . ip saddr @addr4 accept\n"
                      "    meta skuid . ip6 saddr @addr6 accept\n"
                      "    meta l4proto " PORTED " meta skuid . ip saddr . th sport @port4 accept\n"
                      "    meta l4proto " PORTED " meta skuid . ip6 saddr . th sport @port6 accept\n"
                      "    meta l4proto != " PORTED " meta skuid . ip saddr @portless4 accept\n"
                      "    meta l4proto != " PORTED " meta skuid . ip6 saddr @portless6 accept\n"
                      "    meta skuid @slices counter drop\n"
                      "  }\n}\n");
        return strbuf_done(&b);
}

/* One slice's elements, for the diff (a slice has few). */
typedef struct elem {
        int set;
        char text[ELEM_MAX];
} elem;

typedef struct elem_list {
        elem *v;
        size_t n, cap;
        bool failed;
} elem_list;

static void elem_collect(int set, const char *text, void *userdata)
{
        elem_list *l = userdata;

        if (GROW(l->v, l->cap, l->n + 1, 8) < 0) {
                l->failed = true;
                return;
        }
        l->v[l->n].set = set;
        snprintf(l->v[l->n++].text, ELEM_MAX, "%s", text);
}

static bool elem_in(const elem_list *l, const elem *e)
{
        for (size_t i = 0; i < l->n; i++)
                if (l->v[i].set == e->set && strcmp(l->v[i].text, e->text) == 0)
                        return true;
        return false;
}

/* Elements of `from` that `other` lacks, into t. */
static void elems_missing(const elem_list *from, const elem_list *other, set_text *t)
{
        for (size_t i = 0; i < from->n; i++)
                if (!elem_in(other, &from->v[i]))
                        elem_append(from->v[i].set, from->v[i].text, t);
}

static void slice_diff(const policy_slice *o, const policy_slice *s, set_text *add, set_text *del, bool *failed)
{
        elem_list lo = {}, ls = {};

        if (o)
                slice_elements(o, elem_collect, &lo);
        if (s)
                slice_elements(s, elem_collect, &ls);
        elems_missing(&ls, &lo, add);
        elems_missing(&lo, &ls, del);
        *failed |= lo.failed || ls.failed;
        free(lo.v);
        free(ls.v);
}

/* Whether two slices put the same elements in the sets (a quick test that
 * spares building the lists of the many slices a reload leaves alone). */
static bool slice_same_elements(const policy_slice *a, const policy_slice *b)
{
        if (a->uid != b->uid || a->n_ifnames != b->n_ifnames || !policy_slice_addresses_equal(a, b))
                return false;
        for (size_t i = 0; i < a->n_ifnames; i++)
                if (strcmp(a->ifnames[i], b->ifnames[i]) != 0)
                        return false;
        return true;
}

/* The egress class of uid in sh (0: none, no egress rate). */
static uint16_t shape_minor(const policy_shape *sh, uid_t uid)
{
        size_t lo = 0, hi = sh->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (sh->v[mid].slice->uid == uid)
                        return sh->v[mid].slice->egress ? sh->v[mid].minor : 0;
                if (sh->v[mid].slice->uid < uid)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return 0;
}

/* The shape map's entries of from (a slice's class) that to lacks or gives
 * another class, as "UID" (keys, to delete) or "UID : CLASSID" (to add). */
static void shape_missing(const policy_shape *from, const policy_shape *to, bool with_class, strbuf *b, bool *any)
{
        for (size_t i = 0; i < from->n; i++) {
                const policy_shape_slice *e = &from->v[i];

                if (!e->slice->egress || shape_minor(to, e->slice->uid) == e->minor)
                        continue;
                strbuf_printf(b, "%s%u", *any ? ", " : "", e->slice->uid);
                if (with_class)
                        strbuf_printf(b, " : %x:%x", POLICY_SHAPE_MAJOR, e->minor);
                *any = true;
        }
}

char *policy_plan_nft_update(const policy *old, const policy *p)
{
        set_text add = {}, del = {};
        policy_shape so = {}, sn = {};
        strbuf shape_add = {}, shape_del = {};
        bool failed = false, any_add = false, any_del = false;
        _cleanup_free_ char *sa = NULL, *sd = NULL;
        strbuf b = {};

        /* A slice whose class changes is deleted from the map, then added. */
        if (policy_shape_build(old, &so) < 0 || policy_shape_build(p, &sn) < 0)
                failed = true;
        shape_missing(&so, &sn, false, &shape_del, &any_del);
        shape_missing(&sn, &so, true, &shape_add, &any_add);
        policy_shape_done(&so);
        policy_shape_done(&sn);
        sd = strbuf_done(&shape_del);
        sa = strbuf_done(&shape_add);
        if ((any_del && !sd) || (any_add && !sa))
                failed = true;

        for (size_t i = 0, j = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i), *o = policy_slice_seek(old, &j, s->uid);

                if (!o || !slice_same_elements(o, s))
                        slice_diff(o, s, &add, &del, &failed);
        }
        for (size_t i = 0, j = 0; i < policy_slice_count(old); i++) {
                const policy_slice *o = policy_slice_at(old, i);

                if (!policy_slice_seek(p, &j, o->uid))
                        slice_diff(o, NULL, &add, &del, &failed);
        }
        strbuf_printf(&b, "%s", "");
        if (any_del && sd)
                strbuf_printf(&b, "delete element inet " POLICY_NFT_TABLE " shape { %s }\n", sd);
        sets_write(&b, &add, "add element inet " POLICY_NFT_TABLE, false);
        sets_write(&b, &del, "delete element inet " POLICY_NFT_TABLE, false);
        if (any_add && sa)
                strbuf_printf(&b, "add element inet " POLICY_NFT_TABLE " shape { %s }\n", sa);
        if (failed)
                b.failed = true;
        return strbuf_done(&b);
}

char *policy_plan_nft_remove(void)
{
        strbuf b = {};

        strbuf_printf(&b, "table inet %s {}\ndelete table inet %s\n", POLICY_NFT_TABLE, POLICY_NFT_TABLE);
        return strbuf_done(&b);
}
