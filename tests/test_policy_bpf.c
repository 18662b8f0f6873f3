/* tests/test_policy_bpf.c: unit tests of policy/policy_bpf.c, the kernel
 * engine's map plan: what the programs see of a slice (primary first, ranges,
 * the cap per family), its address entries, and that the source-selection
 * trie picks what policy_source_select() picks. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/uoa_bpf.h"
#include "common/macro.h"
#include "policy/policy.h"

static policy *parse_ok(const char *text)
{
        char err[512] = "";
        policy *p = NULL;
        int r = policy_parse(text, strlen(text), "uoa.conf", NULL, NULL, &p, err, sizeof(err));

        cr_assert_eq(r, 0, "parse failed: %d %s", r, err);
        return p;
}

static uint32_t ip4(const char *s)
{
        struct in_addr a;

        cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
        return a.s_addr;
}

static uoa_addr addr(const char *s)
{
        uoa_addr a;

        cr_assert_eq(uoa_addr_parse(s, &a), 0, "%s", s);
        return a;
}

Test(policy_bpf, slice_value_lists_addresses_in_file_order_primary_first)
{
        policy *p = parse_ok("7 address 10.0.0.2\n7 address 2001:db8::2\n7 address 10.0.1.2\n"
                             "7 address 10.0.9.9 ports 10000-10999\n8 address 10.0.0.3\n");
        struct uoa_bpf_slice v;

        policy_bpf_slice(policy_slice_find(p, 7), &v);
        cr_expect_eq(v.n4, 3);
        cr_expect_eq(v.n6, 1);
        cr_expect_eq(v.a4[0].addr, ip4("10.0.0.2"), "the first IPv4 line is the primary");
        cr_expect_eq(v.a4[1].addr, ip4("10.0.1.2"));
        cr_expect_eq(v.a4[0].lo, 0, "dedicated: no range");
        cr_expect_eq(v.a4[2].lo, 10000);
        cr_expect_eq(v.a4[2].hi, 10999);
        cr_expect_eq(v.a6[0].addr[0], htonl(0x20010db8));
        cr_expect_eq(v.a6[0].addr[3], htonl(2));
        policy_free(p);
}

Test(policy_bpf, slice_value_caps_each_family_but_every_address_gets_an_entry)
{
        char text[2048] = "";
        struct uoa_bpf_slice v;
        policy *p;

        for (int i = 0; i < UOA_BPF_ADDRS_MAX + 2; i++)
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "5 address 10.1.0.%d\n", i + 1);
        p = parse_ok(text);
        policy_bpf_slice(policy_slice_find(p, 5), &v);
        cr_expect_eq(v.n4, UOA_BPF_ADDRS_MAX);
        cr_expect_eq(policy_slice_find(p, 5)->n_addrs, UOA_BPF_ADDRS_MAX + 2);
        for (size_t i = 0; i < policy_slice_find(p, 5)->n_addrs; i++) {
                struct uoa_bpf_addr_key k;
                struct uoa_bpf_range r;
                uoa_addr a;

                policy_bpf_addr(policy_slice_find(p, 5), i, &k, &r);
                cr_expect_eq(k.uid, 5);
                cr_expect_eq(k.family, AF_INET);
                cr_expect(policy_bpf_addr_key_decode(&k, &a));
                cr_expect(policy_slice_address(policy_slice_find(p, 5), &a), "entry %zu decodes to its address", i);
        }
        policy_free(p);
}

Test(policy_bpf, address_entries_carry_shared_ranges_and_zero_padding)
{
        policy *p = parse_ok("9 address 10.0.0.20 ports 11000-11999\n9 address fd00::20 ports 11000-11999\n");
        const policy_slice *s = policy_slice_find(p, 9);
        struct uoa_bpf_addr_key k, want4 = { .uid = 9, .family = AF_INET };
        struct uoa_bpf_range r;

        want4.addr[0] = ip4("10.0.0.20");
        policy_bpf_addr(s, 0, &k, &r);
        cr_expect_eq(memcmp(&k, &want4, sizeof(k)), 0, "IPv4 key: the address in addr[0], the rest zero");
        cr_expect_eq(r.lo, 11000);
        cr_expect_eq(r.hi, 11999);
        policy_bpf_addr(s, 1, &k, &r);
        cr_expect_eq(k.family, AF_INET6);
        cr_expect_eq(k.addr[0], htonl(0xfd000000));
        policy_free(p);
}

Test(policy_bpf, key_decode_refuses_an_unknown_family)
{
        struct uoa_bpf_addr_key k = { .uid = 1, .family = 3 };
        uoa_addr a;

        cr_expect_not(policy_bpf_addr_key_decode(&k, &a));
}

/* The trie as the kernel uses it: the entry with the most bits matching. */
typedef struct trie {
        uoa_addr prefix[4096];
        unsigned bits[4096];
        uint32_t index[4096];
        size_t n;
} trie;

static void trie_add(uid_t uid, const uoa_addr *prefix, unsigned bits, uint32_t index, void *userdata)
{
        trie *t = userdata;

        (void) uid;
        cr_assert_lt(t->n, ELEMENTSOF(t->bits));
        for (size_t i = 0; i < t->n; i++)
                cr_assert(t->bits[i] != bits || !uoa_addr_equal(&t->prefix[i], prefix), "an entry emitted twice");
        t->prefix[t->n] = *prefix;
        t->bits[t->n] = bits;
        t->index[t->n++] = index;
}

static int trie_lookup(const trie *t, const uoa_addr *dst)
{
        int best = -1;

        for (size_t i = 0; i < t->n; i++)
                if (uoa_addr_common_prefix(&t->prefix[i], dst) >= t->bits[i] && (best < 0 || t->bits[i] > t->bits[best]))
                        best = (int) i;
        return best < 0 ? 0 : (int) t->index[best]; /* no entry: the primary */
}

Test(policy_bpf, one_address_of_a_family_needs_no_trie)
{
        policy *p = parse_ok("4 address 10.0.0.2\n4 address fd00::1\n");
        static trie t;

        t.n = 0;
        cr_expect_eq(policy_bpf_sources(policy_slice_find(p, 4), AF_INET, trie_add, &t), 0);
        cr_expect_eq(policy_bpf_sources(policy_slice_find(p, 4), AF_INET6, trie_add, &t), 0);
        policy_free(p);
}

Test(policy_bpf, trie_picks_the_source_policy_source_select_picks)
{
        policy *p = parse_ok("3 address 10.254.1.2\n3 address 10.1.3.1\n3 address 192.168.7.1\n"
                             "3 address 10.1.3.9\n");
        const policy_slice *s = policy_slice_find(p, 3);
        static trie t;

        t.n = 0;
        cr_assert_gt(policy_bpf_sources(s, AF_INET, trie_add, &t), 0);
        srandom(1);
        for (int i = 0; i < 20000; i++) {
                uoa_addr dst = { .family = AF_INET };
                policy_bind b;
                uint32_t x = (uint32_t) random();

                /* Near the slice's addresses half of the time. */
                if (i % 2)
                        x = (ntohl(s->addrs[i % s->n_addrs].addr.v4.s_addr) & 0xffffff00u) | (x & 0xff);
                dst.v4.s_addr = htonl(x);
                if (uoa_addr_is_loopback(&dst))
                        continue; /* the programs leave loopback to the kernel */
                cr_assert_eq(policy_source_select(s, &dst, NULL, &b), 0);
                cr_assert(uoa_addr_equal(&s->addrs[trie_lookup(&t, &dst)].addr, &b.addr),
                          "destination %08x: the trie and policy_source_select disagree", x);
        }
        policy_free(p);
}

Test(policy_bpf, ipv6_trie_is_longest_match_ties_to_the_earlier)
{
        policy *p = parse_ok("2 address 2001:db8:1::2\n2 address 2001:db8:2::2\n2 address 10.0.0.1\n");
        const policy_slice *s = policy_slice_find(p, 2);
        static trie t;
        uoa_addr d;

        t.n = 0;
        policy_bpf_sources(s, AF_INET6, trie_add, &t);
        d = addr("2001:db8:2::77");
        cr_expect_eq(trie_lookup(&t, &d), 1);
        d = addr("2001:db8:1:5::1");
        cr_expect_eq(trie_lookup(&t, &d), 0);
        d = addr("2001:db8:4::1"); /* ...:0100 against :0001 and :0010: 45 bits each */
        cr_expect_eq(trie_lookup(&t, &d), 0, "equally far from both: the primary");
        d = addr("fe80::1");
        cr_expect_eq(trie_lookup(&t, &d), 0);
        cr_expect_eq(policy_bpf_source_index(s, &d, 0), 0, "the 0-bit entry is the primary's");
        policy_free(p);
}

/* The wildcard's owner map: what policy_bpf_owners() emits, collected. */
typedef struct owners {
        struct uoa_bpf_owner_key k[64];
        uint32_t uid[64];
        size_t n;
} owners;

static void owner_collect(const struct uoa_bpf_owner_key *k, uint32_t uid, void *userdata)
{
        owners *o = userdata;

        cr_assert_lt(o->n, ELEMENTSOF(o->k));
        o->k[o->n] = *k;
        o->uid[o->n++] = uid;
}

Test(policy_bpf, owners_dedicated_one_entry_shared_one_per_port)
{
        policy *p = parse_ok("7 address 10.0.0.2\n7 address 2001:db8::2\n7 address 10.0.9.9 ports 10000-10003\n"
                             "8 address 10.0.9.9 ports 10004-10005\n");
        owners o = {};
        size_t n = policy_bpf_owners(policy_slice_find(p, 7), owner_collect, &o);

        cr_expect_eq(n, 2 + 4);
        cr_expect_eq(o.n, n);
        cr_expect_eq(o.k[0].family, AF_INET);
        cr_expect_eq(o.k[0].port, 0, "a dedicated address: port 0, every port");
        cr_expect_eq(o.k[0].addr[0], ip4("10.0.0.2"));
        cr_expect_eq(o.k[0].addr[1] | o.k[0].addr[2] | o.k[0].addr[3], 0, "IPv4 is zero-padded");
        cr_expect_eq(o.k[1].family, AF_INET6);
        cr_expect_eq(o.k[1].addr[3], htonl(2));
        for (size_t i = 2; i < 6; i++) {
                cr_expect_eq(o.k[i].port, 10000 + i - 2, "a shared address: each port of the range");
                cr_expect_eq(o.uid[i], 7);
        }
        policy_free(p);
}

Test(policy_bpf, owner_kept_is_exactly_the_plan)
{
        policy *p = parse_ok("7 address 10.0.0.2\n7 address 10.0.9.9 ports 10000-10003\n"
                             "8 address 10.0.9.9 ports 10004-10005\n");
        struct uoa_bpf_owner_key k = { .family = AF_INET, .addr = { ip4("10.0.0.2") } };

        cr_expect(policy_bpf_owner_kept(p, &k));
        k.port = 80;
        cr_expect_not(policy_bpf_owner_kept(p, &k), "a dedicated address has no per-port entries");
        k.addr[0] = ip4("10.0.9.9");
        cr_expect_not(policy_bpf_owner_kept(p, &k), "port 80 is in no range of the shared address");
        k.port = 10005;
        cr_expect(policy_bpf_owner_kept(p, &k), "slice 8's port");
        k.port = 0;
        cr_expect_not(policy_bpf_owner_kept(p, &k), "a shared address has no port-0 entry");
        k.addr[0] = ip4("10.0.0.3");
        cr_expect_not(policy_bpf_owner_kept(p, &k), "nobody's address");
        k.family = 99;
        cr_expect_not(policy_bpf_owner_kept(p, &k), "an unknown family");
        policy_free(p);
}
