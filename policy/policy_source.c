/* policy/policy_source.c: source address selection for a slice's unbound
 * socket (§4 connect/sendto row): loopback, the route's preferred source,
 * longest match for IPv4, RFC 6724 rules 1, 2, 6 and 8 for IPv6. */
#include <errno.h>
#include <string.h>

#include "policy/policy_internal.h"

/* RFC 6724 rule 8 compares prefixes "up to the length of S's prefix". The
 * policy does not know on-link prefix lengths; /64 is what IPv6 interface
 * addresses use (RFC 4291 §2.5.1), so beyond it addresses tie and file
 * order (the primary first) decides. */
#define V6_SOURCE_PREFIX_LEN 64u

typedef struct label_entry {
        uint8_t prefix[16];
        unsigned len;
        unsigned label;
} label_entry;

/* RFC 6724 §2.1 default policy table (labels only: rule 6). */
static const label_entry label_table[] = {
        { { [15] = 1 }, 128, 0 },                       /* ::1/128 */
        { {}, 0, 1 },                                   /* ::/0 */
        { { [10] = 0xff, [11] = 0xff }, 96, 4 },        /* ::ffff:0:0/96 */
        { { 0x20, 0x02 }, 16, 2 },                      /* 2002::/16 */
        { { 0x20, 0x01, 0, 0 }, 32, 5 },                /* 2001::/32 */
        { { 0xfc }, 7, 13 },                            /* fc00::/7 */
        { {}, 96, 3 },                                  /* ::/96 */
        { { 0xfe, 0xc0 }, 10, 11 },                     /* fec0::/10 */
        { { 0x3f, 0xfe }, 16, 12 },                     /* 3ffe::/16 */
};

static bool prefix_match(const uint8_t *a, const uint8_t *prefix, unsigned len)
{
        unsigned bytes = len / 8, bits = len % 8;

        if (memcmp(a, prefix, bytes) != 0)
                return false;
        if (bits == 0)
                return true;
        return ((a[bytes] ^ prefix[bytes]) & (uint8_t)(0xff00 >> bits)) == 0;
}

static unsigned v6_label(const uoa_addr *a)
{
        const label_entry *best = NULL;

        for (size_t i = 0; i < ELEMENTSOF(label_table); i++) {
                const label_entry *e = &label_table[i];

                if (prefix_match(a->bytes, e->prefix, e->len) && (!best || e->len > best->len))
                        best = e;
        }
        return best ? best->label : 1;
}

/* RFC 6724 §3.1 scopes: multicast scope field; link-local (fe80::/10 and
 * the loopback) 2; deprecated site-local (fec0::/10) 5; the rest global 14. */
static unsigned v6_scope(const uoa_addr *a)
{
        if (a->bytes[0] == 0xff)
                return a->bytes[1] & 0x0f;
        if ((a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80) || IN6_IS_ADDR_LOOPBACK(&a->v6))
                return 2;
        if (a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0xc0)
                return 5;
        return 14;
}

static unsigned v6_prefix(const uoa_addr *a, const uoa_addr *d)
{
        unsigned n = uoa_addr_common_prefix(a, d);

        return n < V6_SOURCE_PREFIX_LEN ? n : V6_SOURCE_PREFIX_LEN;
}

/* > 0: a is the better source for d, < 0: b is, 0: the rules tie. */
static int v6_compare(const uoa_addr *a, const uoa_addr *b, const uoa_addr *d)
{
        unsigned sa = v6_scope(a), sb = v6_scope(b), sd = v6_scope(d);
        unsigned ld = v6_label(d), pa, pb;
        bool la, lb;

        /* Rule 1: prefer the same address. */
        if (uoa_addr_equal(a, d) != uoa_addr_equal(b, d))
                return uoa_addr_equal(a, d) ? 1 : -1;
        /* Rule 2: prefer the smallest scope that still reaches d. */
        if (sa < sb)
                return sa < sd ? -1 : 1;
        if (sb < sa)
                return sb < sd ? 1 : -1;
        /* Rule 6: prefer a matching label. */
        la = v6_label(a) == ld;
        lb = v6_label(b) == ld;
        if (la != lb)
                return la ? 1 : -1;
        /* Rule 8: prefer the longest matching prefix. */
        pa = v6_prefix(a, d);
        pb = v6_prefix(b, d);
        return (pa > pb) - (pa < pb);
}

static int v4_compare(const uoa_addr *a, const uoa_addr *b, const uoa_addr *d)
{
        unsigned pa = uoa_addr_common_prefix(a, d), pb = uoa_addr_common_prefix(b, d);

        return (pa > pb) - (pa < pb);
}

static const policy_address *best_source(const policy_slice *s, const uoa_addr *d)
{
        int (*cmp)(const uoa_addr *, const uoa_addr *, const uoa_addr *) =
                d->family == AF_INET6 ? v6_compare : v4_compare;
        const policy_address *best = NULL;

        /* Only a strictly better address replaces the best: ties go to
         * the earlier one, the primary first. */
        for (size_t i = 0; i < s->n_addrs; i++) {
                const policy_address *pa = &s->addrs[i];

                if (pa->addr.family != d->family)
                        continue;
                if (!best || cmp(&pa->addr, &best->addr, d) > 0)
                        best = pa;
        }
        return best;
}

static void loopback_source(int family, policy_bind *ret)
{
        *ret = (policy_bind){ .addr.family = family };
        if (family == AF_INET)
                ret->addr.v4.s_addr = htonl(INADDR_LOOPBACK);
        else
                ret->addr.v6 = in6addr_loopback;
}

int policy_source_select(const policy_slice *s, const uoa_addr *dst,
                         const uoa_addr *hint, policy_bind *ret)
{
        const policy_address *pa = NULL;
        uoa_addr d;

        if (!s || !dst || !ret)
                return -EINVAL;
        if (uoa_addr_size(dst->family) == 0)
                return -EAFNOSUPPORT;
        d = policy_addr_unmap(dst);
        /* The kernel sends to 0.0.0.0 and :: over the loopback too
         * (ip_route_output_key_hash_rcu(), tcp_v6_connect()). */
        if (uoa_addr_is_loopback(&d) || uoa_addr_is_any(&d)) {
                loopback_source(d.family, ret);
                return 0;
        }
        if (hint && uoa_addr_size(hint->family) != 0) {
                uoa_addr h = policy_addr_unmap(hint);

                if (h.family == d.family)
                        pa = policy_slice_address(s, &h);
        }
        if (!pa)
                pa = best_source(s, &d);
        if (!pa)
                return -EADDRNOTAVAIL;
        *ret = (policy_bind){ .addr = pa->addr };
        if (pa->shared) {
                ret->lo = pa->port_lo;
                ret->hi = pa->port_hi;
        }
        return 0;
}
