/* tests/nltest.c: the netlink-proxy suites' shared fixture (nltest.h). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "tests/nltest.h"

static const char policy_text[] =
        "1001 address 10.0.0.11\n"
        "1001 address 2001:db8::11\n"
        "1001 table 100\n"
        "1001 interface veth0\n"
        "1002 address 10.0.0.12\n"
        "1002 table 32800\n"
        "1003 address 10.0.0.13\n";

policy *pol;
nl_view V, BIG, RO; /* table 100 + veth0; table 32800, any interface; no table */
uint8_t req_buf[OUT_CAP] __attribute__((aligned(8)));
uint8_t out_buf[OUT_CAP] __attribute__((aligned(8)));
uint8_t rw_buf[OUT_CAP] __attribute__((aligned(8)));

static int fake_ifname_of(int ifindex, char *name, void *userdata)
{
        (void)userdata;
        if (ifindex == 1)
                strcpy(name, "lo");
        else if (ifindex == 2)
                strcpy(name, "veth0");
        else if (ifindex == 3)
                strcpy(name, "eth0");
        else
                return -ENODEV;
        return 0;
}

static nl_view view_of(uid_t uid)
{
        const policy_slice *s = policy_slice_find(pol, uid);

        cr_assert_not_null(s);
        return (nl_view){
                .slice = s, .table = s->table ? s->table : RT_TABLE_MAIN, .may_write = s->table != 0,
                .uid = uid, .ifname_of = fake_ifname_of,
        };
}

void setup(void)
{
        char err[256] = "";

        cr_assert_eq(policy_parse(policy_text, strlen(policy_text), "test", NULL, NULL, &pol, err,
                                  sizeof(err)), 0, "%s", err);
        V = view_of(1001);
        BIG = view_of(1002);
        RO = view_of(1003);
}

void teardown(void)
{
        policy_free(pol);
}

void put_addr(struct nlmsghdr *nlh, uint16_t type, const char *text)
{
        uint8_t a[16];
        int family = strchr(text, ':') ? AF_INET6 : AF_INET;

        cr_assert_eq(inet_pton(family, text, a), 1);
        mnl_attr_put(nlh, type, family == AF_INET ? 4 : 16, a);
}

parsed parse(const struct nlmsghdr *nlh, size_t hdr)
{
        const uint8_t *p = mnl_nlmsg_get_payload_offset(nlh, hdr);
        size_t len = nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(hdr), off = 0;
        parsed r = { 0 };

        cr_assert_leq(nlh->nlmsg_len, OUT_CAP);
        while (off < len) {
                const struct nlattr *a = (const struct nlattr *)(p + off);
                uint16_t t = mnl_attr_get_type(a);

                cr_assert(mnl_attr_ok(a, (int)(len - off)), "malformed output at %zu", off);
                cr_assert_lt(t, NATTR);
                r.tb[t] = a;
                r.count[t]++;
                r.order[r.n++] = t;
                off += MNL_ALIGN(a->nla_len);
        }
        cr_assert_eq(off, len);
        return r;
}

void assert_addr(const struct nlattr *a, const char *text)
{
        uint8_t want[16];
        int family = strchr(text, ':') ? AF_INET6 : AF_INET;
        size_t n = family == AF_INET ? 4 : 16;

        cr_assert_not_null(a, "no attribute for %s", text);
        cr_assert_eq(inet_pton(family, text, want), 1);
        cr_assert_eq(mnl_attr_get_payload_len(a), n);
        cr_assert_arr_eq(mnl_attr_get_payload(a), want, n, "not %s", text);
}
