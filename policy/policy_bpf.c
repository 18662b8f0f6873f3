/* policy/policy_bpf.c: the kernel engine's map contents, planned from a
 * policy (bpf/uoa_bpf.h): per slice the addresses its programs use for the
 * wildcard and for source selection, and one address-map entry per address
 * of the slice for bind and IP_PKTINFO decisions. Pure: the loader
 * (uoad/engine_bpf.c) writes what this returns. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "bpf/uoa_bpf.h"
#include "policy/policy.h"

void policy_bpf_slice(const policy_slice *s, struct uoa_bpf_slice *ret)
{
        struct uoa_bpf_slice v;

        memset(&v, 0, sizeof(v));
        /* File order, so that index 0 of each family is the primary address. */
        for (size_t i = 0; i < s->n_addrs; i++) {
                const policy_address *a = &s->addrs[i];
                uint16_t lo = a->shared ? a->port_lo : 0, hi = a->shared ? a->port_hi : 0;

                if (a->addr.family == AF_INET && v.n4 < UOA_BPF_ADDRS_MAX) {
                        memcpy(&v.a4[v.n4].addr, &a->addr.v4, 4);
                        v.a4[v.n4].lo = lo;
                        v.a4[v.n4++].hi = hi;
                } else if (a->addr.family == AF_INET6 && v.n6 < UOA_BPF_ADDRS_MAX) {
                        memcpy(v.a6[v.n6].addr, &a->addr.v6, 16);
                        v.a6[v.n6].lo = lo;
                        v.a6[v.n6++].hi = hi;
                }
        }
        *ret = v;
}

void policy_bpf_addr(const policy_slice *s, size_t i, struct uoa_bpf_addr_key *ret_key,
                     struct uoa_bpf_range *ret_range)
{
        const policy_address *a = &s->addrs[i];

        memset(ret_key, 0, sizeof(*ret_key));
        ret_key->uid = s->uid;
        ret_key->family = (uint32_t) a->addr.family;
        memcpy(ret_key->addr, a->addr.bytes, uoa_addr_size(a->addr.family));
        *ret_range = (struct uoa_bpf_range){ .lo = a->shared ? a->port_lo : 0, .hi = a->shared ? a->port_hi : 0 };
}

bool policy_bpf_addr_key_decode(const struct uoa_bpf_addr_key *k, uoa_addr *ret)
{
        uoa_addr a = { .family = (int) k->family };

        if (k->family != AF_INET && k->family != AF_INET6)
                return false;
        memcpy(a.bytes, k->addr, uoa_addr_size(a.family));
        *ret = a;
        return true;
}

/* The slice's addresses of family that the programs see (uoa_bpf_slice's
 * a4/a6): the first UOA_BPF_ADDRS_MAX, in file order. k-th of them, or NULL. */
static const policy_address *engine_address(const policy_slice *s, int family, size_t k)
{
        for (size_t i = 0; i < s->n_addrs; i++)
                if (s->addrs[i].addr.family == family && k-- == 0)
                        return &s->addrs[i];
        return NULL;
}

int policy_bpf_source_index(const policy_slice *s, const uoa_addr *prefix, unsigned bits)
{
        if (!engine_address(s, prefix->family, 1))
                return -1; /* one address or none: no choice, no entries */
        for (size_t k = 0; k < UOA_BPF_ADDRS_MAX; k++) {
                const policy_address *a = engine_address(s, prefix->family, k);

                if (!a)
                        break;
                if (uoa_addr_common_prefix(&a->addr, prefix) >= bits)
                        return (int) k;
        }
        return -1;
}

/* addr with every bit past the first `bits` cleared. */
static uoa_addr addr_prefix(const uoa_addr *addr, unsigned bits)
{
        uoa_addr p = *addr;

        for (unsigned i = 0; i < uoa_addr_size(p.family); i++) {
                unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;

                p.bytes[i] &= (uint8_t) (0xff00u >> keep);
        }
        return p;
}

size_t policy_bpf_sources(const policy_slice *s, int family, policy_bpf_source_fn emit, void *userdata)
{
        unsigned max_bits = 8 * uoa_addr_size(family);
        size_t n = 0;

        if (!engine_address(s, family, 1))
                return 0; /* one address or none: no choice, no entries */
        for (size_t k = 0; k < UOA_BPF_ADDRS_MAX; k++) {
                const policy_address *a = engine_address(s, family, k);

                if (!a)
                        break;
                for (unsigned bits = 0; bits <= max_bits; bits++) {
                        uoa_addr p = addr_prefix(&a->addr, bits);

                        /* Emitted once, by the first address that has it. */
                        if (policy_bpf_source_index(s, &p, bits) != (int) k)
                                continue;
                        emit(s->uid, &p, bits, (uint32_t) k, userdata);
                        n++;
                }
        }
        return n;
}

unsigned policy_bpf_traps(const policy_slice *s)
{
        unsigned traps = POLICY_TRAP_LISTEN | POLICY_TRAP_SEND;
        bool several = engine_address(s, AF_INET, 1) || engine_address(s, AF_INET6, 1);

        for (size_t i = 0; i < s->n_addrs; i++)
                if (s->addrs[i].shared)
                        traps |= POLICY_TRAP_BIND;
        if (several && s->table)
                traps |= POLICY_TRAP_CONNECT;
        return traps;
}

size_t policy_bpf_owners(const policy_slice *s, policy_bpf_owner_fn emit, void *userdata)
{
        size_t n = 0;

        for (size_t i = 0; i < s->n_addrs; i++) {
                const policy_address *a = &s->addrs[i];
                struct uoa_bpf_owner_key k = { .family = (uint32_t) a->addr.family };
                uint32_t lo = a->shared ? a->port_lo : 0, hi = a->shared ? a->port_hi : 0;

                if (a->shared && lo == 0)
                        lo = 1; /* port 0 keys are dedicated addresses' */
                memcpy(k.addr, a->addr.bytes, uoa_addr_size(a->addr.family));
                for (uint32_t port = lo; port <= hi; port++, n++) {
                        k.port = port;
                        emit(&k, s->uid, userdata);
                }
        }
        return n;
}

bool policy_bpf_owner_kept(const policy *p, const struct uoa_bpf_owner_key *k)
{
        uoa_addr a = { .family = (int) k->family };
        bool shared = false;

        if ((k->family != AF_INET && k->family != AF_INET6) || k->port > UINT16_MAX)
                return false;
        memcpy(a.bytes, k->addr, uoa_addr_size(a.family));
        return policy_address_owner(p, &a, (uint16_t) k->port, &shared) && shared == (k->port != 0);
}
