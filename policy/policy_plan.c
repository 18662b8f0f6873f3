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
#include <stdlib.h>

#include "common/strbuf.h"
#include "policy/policy.h"
#include "policy/policy_shape.h"

/* Protocols whose packets carry ports at the transport header (th sport). */
#define PORTED "{ tcp, udp, udplite, sctp, dccp }"

typedef bool (*addr_pick)(const policy_address *a, int family);

static bool pick_dedicated(const policy_address *a, int family)
{
        return a->addr.family == family && !a->shared;
}

static bool pick_shared(const policy_address *a, int family)
{
        return a->addr.family == family && a->shared;
}

/* "set NAME { type ...; [flags interval;] elements = { ... } }" over every
 * slice's addresses that pick() selects. */
static void plan_set(strbuf *b, const policy *p, const char *name, int family, addr_pick pick,
                     bool with_ports)
{
        char buf[UOA_ADDR_STRLEN];
        bool first = true;

        strbuf_printf(b, "  set %s { type uid . %s%s;%s", name, family == AF_INET ? "ipv4_addr" : "ipv6_addr",
                      with_ports ? " . inet_service" : "", with_ports ? " flags interval;" : "");
        for (size_t i = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i);

                for (size_t j = 0; j < s->n_addrs; j++) {
                        const policy_address *a = &s->addrs[j];

                        if (!pick(a, family))
                                continue;
                        strbuf_printf(b, "%s %u . %s", first ? " elements = {" : ",", s->uid,
                                      uoa_addr_format(&a->addr, buf, sizeof(buf)));
                        if (with_ports)
                                strbuf_printf(b, " . %u-%u", a->port_lo, a->port_hi);
                        first = false;
                }
        }
        strbuf_printf(b, "%s }\n", first ? "" : " }");
}

/* Slices that list interfaces may send through those only (by name, so an
 * interface created later, like a slice's tun0, is covered when it appears). */
static void plan_interfaces(strbuf *b, const policy *p)
{
        bool first = true;

        strbuf_printf(b, "  set ifslices { type uid;");
        for (size_t i = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i);

                if (s->n_ifnames) {
                        strbuf_printf(b, "%s %u", first ? " elements = {" : ",", s->uid);
                        first = false;
                }
        }
        strbuf_printf(b, "%s }\n  set ifaces { type uid . ifname;", first ? "" : " }");
        first = true;
        for (size_t i = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i);

                for (size_t j = 0; j < s->n_ifnames; j++) {
                        strbuf_printf(b, "%s %u . \"%s\"", first ? " elements = {" : ",", s->uid, s->ifnames[j]);
                        first = false;
                }
        }
        strbuf_printf(b, "%s }\n", first ? "" : " }");
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
        strbuf b = {};
        bool first = true;

        /* Declaring then deleting makes the script valid whether or not the
         * table exists; nft applies the whole buffer as one transaction. */
        strbuf_printf(&b, "table inet %s {}\ndelete table inet %s\ntable inet %s {\n", POLICY_NFT_TABLE,
                      POLICY_NFT_TABLE, POLICY_NFT_TABLE);
        strbuf_printf(&b, "  set slices { type uid;");
        for (size_t i = 0; i < policy_slice_count(p); i++) {
                strbuf_printf(&b, "%s %u", first ? " elements = {" : ",", policy_slice_at(p, i)->uid);
                first = false;
        }
        strbuf_printf(&b, "%s }\n", first ? "" : " }");
        plan_interfaces(&b, p);
        plan_set(&b, p, "addr4", AF_INET, pick_dedicated, false);
        plan_set(&b, p, "addr6", AF_INET6, pick_dedicated, false);
        plan_set(&b, p, "port4", AF_INET, pick_shared, true);
        plan_set(&b, p, "port6", AF_INET6, pick_shared, true);
        plan_set(&b, p, "portless4", AF_INET, pick_shared, false);
        plan_set(&b, p, "portless6", AF_INET6, pick_shared, false);
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

char *policy_plan_nft_remove(void)
{
        strbuf b = {};

        strbuf_printf(&b, "table inet %s {}\ndelete table inet %s\n", POLICY_NFT_TABLE, POLICY_NFT_TABLE);
        return strbuf_done(&b);
}
