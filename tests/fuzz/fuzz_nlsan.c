/* tests/fuzz/fuzz_nlsan.c: libFuzzer target for the netlink proxy's pure
 * parts. The input is a slice's request to nlsan_request() and a kernel
 * datagram to nlrw_datagram(); whatever they emit must keep the slice in
 * its table: a forwarded route request names only the slice's table and
 * sources, fits its buffer and parses cleanly; a rewritten datagram holds
 * no route of another table (but in the answer to the slice's own route
 * lookup), no link but loopback and the slice's interfaces, no address
 * but loopback's, the slice's and link-local ones on its links, no
 * neighbour or netconf entry of a link it does not see. First
 * input byte: view and output size.
 *
 * Build and run: make build/fuzz/fuzz_nlsan && build/fuzz/fuzz_nlsan -max_len=4096 CORPUS_DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>

#include "netlink-proxy/nlproxy.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "check failed: %s (line %d)\n", #x, __LINE__); abort(); } } while (0)

#define BUF_MAX (NLPROXY_REQUEST_MAX + 1024)
#define NATTR 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_text[] =
        "1001 address 10.0.0.11\n"
        "1001 address 2001:db8::11\n"
        "1001 address 192.0.2.7 ports 1000-1999\n"
        "1001 table 100\n"
        "1001 interface veth0\n"
        "1002 address 10.0.0.12\n"
        "1002 table 32800\n"
        "1003 address 10.0.0.13\n";

static nl_view views[3];
static uint8_t in_buf[BUF_MAX] __attribute__((aligned(8)));
static uint8_t out_buf[BUF_MAX] __attribute__((aligned(8)));

static int fake_ifname_of(int ifindex, char *name, void *userdata)
{
        static const char *const names[] = { "lo", "veth0", "eth0", "veth00" };

        (void)userdata;
        if (ifindex < 1 || ifindex > 4)
                return -ENODEV;
        snprintf(name, 16, "%s", names[ifindex - 1]);
        return 0;
}

static void views_init(void)
{
        static policy *p;
        char err[256];

        if (p)
                return;
        CHECK(policy_parse(policy_text, strlen(policy_text), "fuzz", NULL, NULL, &p, err, sizeof(err)) == 0);
        for (unsigned i = 0; i < 3; i++) {
                const policy_slice *s = policy_slice_find(p, 1001 + i);

                CHECK(s);
                views[i] = (nl_view){ .slice = s, .table = s->table ? s->table : RT_TABLE_MAIN,
                                      .may_write = s->table != 0, .uid = 1001 + i,
                                      .ifname_of = fake_ifname_of };
        }
}

/* The attributes after a family header of hdr bytes walk exactly to the end,
 * none twice (except within multipath, which is one attribute). */
static void attrs_collect(const struct nlmsghdr *nlh, size_t hdr, const struct nlattr **tb)
{
        const uint8_t *p = mnl_nlmsg_get_payload_offset(nlh, hdr);
        size_t len, off = 0;

        CHECK(mnl_nlmsg_get_payload_len(nlh) >= NLMSG_ALIGN(hdr));
        len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(hdr);
        memset(tb, 0, NATTR * sizeof(*tb));
        while (off < len) {
                const struct nlattr *a = (const struct nlattr *)(p + off);
                uint16_t type = mnl_attr_get_type(a);

                CHECK(mnl_attr_ok(a, (int)(len - off)));
                CHECK(type < NATTR && !tb[type]);
                tb[type] = a;
                off += MNL_ALIGN(a->nla_len);
        }
}

static void check_table(const nl_view *v, const struct rtmsg *rtm, const struct nlattr **tb)
{
        CHECK(rtm->rtm_table == (v->table < 256 ? v->table : RT_TABLE_UNSPEC));
        CHECK(tb[RTA_TABLE] && mnl_attr_get_payload_len(tb[RTA_TABLE]) == 4);
        CHECK(mnl_attr_get_u32(tb[RTA_TABLE]) == v->table);
}

static void check_change(const nl_view *v, const struct nlmsghdr *out)
{
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(out);
        const struct nlattr *tb[NATTR];
        char name[16];

        CHECK(v->may_write);
        attrs_collect(out, sizeof(*rtm), tb);
        check_table(v, rtm, tb);
        CHECK(rtm->rtm_family == AF_INET || rtm->rtm_family == AF_INET6);
        CHECK(rtm->rtm_protocol != NLPROXY_GUARD_PROTO);
        CHECK(!tb[RTA_ENCAP] && !tb[RTA_ENCAP_TYPE] && !tb[RTA_NH_ID]);
        if (tb[RTA_PREFSRC]) {
                uoa_addr a = { .family = rtm->rtm_family };

                CHECK(mnl_attr_get_payload_len(tb[RTA_PREFSRC]) == uoa_addr_size(a.family));
                memcpy(a.bytes, mnl_attr_get_payload(tb[RTA_PREFSRC]), uoa_addr_size(a.family));
                CHECK(policy_slice_address(v->slice, &a));
        }
        if (tb[RTA_OIF] && v->slice->n_ifnames > 0) {
                CHECK(fake_ifname_of((int)mnl_attr_get_u32(tb[RTA_OIF]), name, NULL) == 0);
                CHECK(policy_slice_may_use_interface(v->slice, name));
        }
}

static void check_forward(const nl_view *v, const struct nlmsghdr *in, const struct nlmsghdr *out,
                          size_t cap)
{
        const struct nlattr *tb[NATTR];

        CHECK(out->nlmsg_len >= NLMSG_HDRLEN && out->nlmsg_len <= cap);
        CHECK(out->nlmsg_type == in->nlmsg_type && out->nlmsg_seq == in->nlmsg_seq);
        switch (out->nlmsg_type) {
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
                check_change(v, out);
                break;
        case RTM_GETROUTE:
                attrs_collect(out, sizeof(struct rtmsg), tb);
                if (out->nlmsg_flags & NLM_F_DUMP) {
                        check_table(v, mnl_nlmsg_get_payload(out), tb);
                } else {
                        CHECK(!tb[RTA_TABLE]);
                        CHECK(tb[RTA_UID] && mnl_attr_get_u32(tb[RTA_UID]) == v->uid);
                }
                break;
        case RTM_GETLINK:
        case RTM_GETADDR:
        case RTM_GETNEIGH:
        case RTM_GETNETCONF:
        case RTM_GETNSID:
                CHECK(out->nlmsg_len == in->nlmsg_len && memcmp(out, in, in->nlmsg_len) == 0);
                break;
        default:
                CHECK(!"forwarded a type that is not on the list");
        }
}

static void check_refusal(const struct nlmsghdr *in, const nlsan_verdict *vd)
{
        static uint8_t ack[BUF_MAX] __attribute__((aligned(8)));
        size_t n;

        CHECK(vd->error < 0);
        /* A hidden link is answered as a missing one: ENODEV, no message. */
        if (vd->msg[0] == '\0')
                CHECK(in->nlmsg_type == RTM_GETLINK && vd->error == -ENODEV);
        else
                CHECK(memchr(vd->msg, '\0', sizeof(vd->msg)) && strncmp(vd->msg, "uoa: ", 5) == 0);
        for (unsigned flags = 0; flags < 4; flags++) {
                const struct nlmsghdr *e = (const struct nlmsghdr *)ack;

                n = nlsan_error_build(in, vd->error, vd->msg, flags & 1, flags & 2, 7, ack, sizeof(ack));
                CHECK(n >= NLMSG_HDRLEN + sizeof(struct nlmsgerr) && n % 4 == 0 && e->nlmsg_len == n);
                CHECK(e->nlmsg_type == NLMSG_ERROR && e->nlmsg_seq == in->nlmsg_seq);
                CHECK(nlsan_error_build(in, vd->error, vd->msg, flags & 1, flags & 2, 7, ack, n - 1) == 0);
        }
}

static void fuzz_request(const nl_view *v, const uint8_t *data, size_t size, size_t cap)
{
        const struct nlmsghdr *in = (const struct nlmsghdr *)in_buf;
        nlsan_verdict vd;
        int r;

        memcpy(in_buf, data, size);
        r = nlsan_request(v, in, size, (struct nlmsghdr *)out_buf, cap, &vd);
        if (r < 0) {
                CHECK(r == -EINVAL);
                return;
        }
        CHECK(r == 0 && in->nlmsg_len <= size);
        switch (vd.action) {
        case NLSAN_FORWARD:
                check_forward(v, in, (const struct nlmsghdr *)out_buf, cap);
                break;
        case NLSAN_REFUSE:
                check_refusal(in, &vd);
                break;
        case NLSAN_EMPTY_DUMP:
                CHECK(in->nlmsg_type == RTM_GETRULE && (in->nlmsg_flags & NLM_F_DUMP));
                CHECK(nlsan_done_build(in, 7, out_buf, cap) == (cap >= 20 ? 20u : 0u));
                break;
        default:
                CHECK(!"bad action");
        }
}

static bool name_seen(const nl_view *v, const char *name)
{
        return strcmp(name, "lo") == 0 || policy_slice_may_use_interface(v->slice, name);
}

/* A link or address message the slice was given: by the rules of
 * docs/design.md §4, judged here without nlview.c. */
static void check_view(const nl_view *v, const struct nlmsghdr *nlh)
{
        const struct nlattr *tb[NATTR] = { 0 }, *a;
        char name[16] = "";
        const uint8_t *p;
        size_t hdr, len, off = 0;
        uint32_t ifindex;

        hdr = nlh->nlmsg_type <= RTM_DELLINK ? sizeof(struct ifinfomsg) : sizeof(struct ifaddrmsg);
        CHECK(mnl_nlmsg_get_payload_len(nlh) >= NLMSG_ALIGN(hdr));
        p = mnl_nlmsg_get_payload_offset(nlh, hdr);
        len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(hdr);
        while (off < len) {
                a = (const struct nlattr *)(p + off);
                CHECK(mnl_attr_ok(a, (int)(len - off)));
                if (mnl_attr_get_type(a) < NATTR)
                        tb[mnl_attr_get_type(a)] = a;
                off += MNL_ALIGN(a->nla_len);
        }
        if (nlh->nlmsg_type <= RTM_DELLINK) {
                const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

                if (tb[IFLA_IFNAME]) {
                        size_t n = mnl_attr_get_payload_len(tb[IFLA_IFNAME]);

                        /* As any client reads it: a string that ends inside. */
                        CHECK(n <= 16 && memchr(mnl_attr_get_payload(tb[IFLA_IFNAME]), '\0', n));
                        memcpy(name, mnl_attr_get_payload(tb[IFLA_IFNAME]), n);
                } else
                        CHECK(fake_ifname_of(ifi->ifi_index, name, NULL) == 0);
                CHECK(name_seen(v, name));
                return;
        }
        ifindex = ((const struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_index;
        /* An IPv4 address is never shown as secondary (its primary may be hidden). */
        if (((const struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_family == AF_INET) {
                CHECK(!(((const struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_flags & IFA_F_SECONDARY));
                CHECK(!tb[IFA_FLAGS] || mnl_attr_get_payload_len(tb[IFA_FLAGS]) != 4 ||
                      !(mnl_attr_get_u32(tb[IFA_FLAGS]) & IFA_F_SECONDARY));
        }
        if (ifindex <= 4 && fake_ifname_of((int)ifindex, name, NULL) == 0 && strcmp(name, "lo") == 0)
                return;
        a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        CHECK(a);
        {
                uoa_addr addr = { .family = ((const struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_family };

                CHECK(mnl_attr_get_payload_len(a) == uoa_addr_size(addr.family) && addr.family != 0);
                memcpy(addr.bytes, mnl_attr_get_payload(a), uoa_addr_size(addr.family));
                if (policy_slice_address(v->slice, &addr))
                        return;
                CHECK(addr.family == AF_INET6 && addr.bytes[0] == 0xfe && (addr.bytes[1] & 0xc0) == 0x80);
                CHECK(fake_ifname_of((int)ifindex, name, NULL) == 0 && name_seen(v, name));
        }
}

/* A neighbour or netconf message: of a link the slice sees. */
static void check_link_entry(const nl_view *v, const struct nlmsghdr *nlh)
{
        char name[16];
        int32_t ifindex;

        if (nlh->nlmsg_type == RTM_NEWNEIGH || nlh->nlmsg_type == RTM_DELNEIGH) {
                CHECK(mnl_nlmsg_get_payload_len(nlh) >= sizeof(struct ndmsg));
                ifindex = ((const struct ndmsg *)mnl_nlmsg_get_payload(nlh))->ndm_ifindex;
        } else {
                const struct nlattr *a = NULL;
                const uint8_t *p;
                size_t len, off = 0;

                CHECK(mnl_nlmsg_get_payload_len(nlh) >= NLMSG_ALIGN(sizeof(struct netconfmsg)));
                p = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct netconfmsg));
                len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(struct netconfmsg));
                while (off < len) {
                        const struct nlattr *x = (const struct nlattr *)(p + off);

                        CHECK(mnl_attr_ok(x, (int)(len - off)));
                        if (mnl_attr_get_type(x) == NETCONFA_IFINDEX) {
                                CHECK(!a);
                                a = x;
                        }
                        off += MNL_ALIGN(x->nla_len);
                }
                CHECK(a && mnl_attr_get_payload_len(a) == 4);
                ifindex = (int32_t)mnl_attr_get_u32(a);
                if (ifindex == NETCONFA_IFINDEX_ALL || ifindex == NETCONFA_IFINDEX_DEFAULT)
                        return;
        }
        if (v->slice->n_ifnames == 0)
                return;
        CHECK(fake_ifname_of(ifindex, name, NULL) == 0 && name_seen(v, name));
}

static void fuzz_datagram(const nl_view *v, const uint8_t *data, size_t size, size_t cap)
{
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)out_buf;
        size_t n;
        int left;

        memcpy(in_buf, data, size);
        n = nlrw_datagram(v, 9, 10, in_buf, size, out_buf, cap);
        CHECK(n <= cap && n <= size);
        left = (int)n;
        for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
                const struct nlattr *tb[NATTR];
                const struct rtmsg *rtm;

                CHECK(nlh->nlmsg_pid != 9);
                if (nlh->nlmsg_type >= RTM_NEWLINK && nlh->nlmsg_type <= RTM_DELADDR &&
                    nlh->nlmsg_type != RTM_GETLINK && nlh->nlmsg_type != RTM_SETLINK) {
                        check_view(v, nlh);
                        continue;
                }
                if (nlh->nlmsg_type == RTM_NEWNEIGH || nlh->nlmsg_type == RTM_DELNEIGH ||
                    nlh->nlmsg_type == RTM_NEWNETCONF || nlh->nlmsg_type == RTM_DELNETCONF) {
                        check_link_entry(v, nlh);
                        continue;
                }
                if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)
                        continue;
                rtm = mnl_nlmsg_get_payload(nlh);
                CHECK(mnl_nlmsg_get_payload_len(nlh) >= sizeof(*rtm));
                CHECK(rtm->rtm_protocol != NLPROXY_GUARD_PROTO);
                /* Another table shows only in the answer to the slice's own
                 * route lookup: not part of a dump, addressed to our socket
                 * (pid 9, rewritten to the client's 10). */
                if (nlh->nlmsg_type == RTM_NEWROUTE && !(nlh->nlmsg_flags & NLM_F_MULTI) && nlh->nlmsg_pid == 10)
                        continue;
                CHECK(rtm->rtm_table == RT_TABLE_MAIN);
                /* RTA_TABLE once at most, and main; other types may repeat. */
                {
                        const uint8_t *p = mnl_nlmsg_get_payload_offset(nlh, sizeof(*rtm));
                        size_t len = mnl_nlmsg_get_payload_len(nlh) - NLMSG_ALIGN(sizeof(*rtm)), off = 0;

                        memset(tb, 0, sizeof(tb));
                        while (off < len) {
                                const struct nlattr *a = (const struct nlattr *)(p + off);

                                CHECK(mnl_attr_ok(a, (int)(len - off)));
                                if (mnl_attr_get_type(a) == RTA_TABLE) {
                                        CHECK(!tb[RTA_TABLE] && mnl_attr_get_u32(a) == RT_TABLE_MAIN);
                                        tb[RTA_TABLE] = a;
                                }
                                off += MNL_ALIGN(a->nla_len);
                        }
                }
        }
        CHECK(left <= 0 && left > -4); /* an unaligned last message is not padded */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const size_t caps[] = { BUF_MAX, 64, 40, 4096 };
        const nl_view *v;
        size_t cap;

        views_init();
        if (size < 1 || size - 1 > NLPROXY_REQUEST_MAX)
                return 0;
        v = &views[data[0] % 3];
        cap = caps[(data[0] >> 2) & 3];
        fuzz_request(v, data + 1, size - 1, cap);
        fuzz_datagram(v, data + 1, size - 1, cap);
        return 0;
}
