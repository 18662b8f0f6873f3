/* policy/policy_decide.c: the §4 bind decision (which address and port a
 * slice's bind() really gets) and the shared-address port mapping. */
#include <errno.h>

#include "policy/policy_internal.h"

int policy_port_map(uint16_t lo, uint16_t hi, uint16_t port)
{
        if (lo == 0 || lo > hi)
                return -EACCES;
        if (port == 0)
                return 0;
        if (lo <= port && port <= hi)
                return port;
        /* "Port mapping": a small port is an offset into the range, so a
         * slice owning 10000-10999 that binds 22 gets 10022. */
        if (port <= hi - lo)
                return lo + port;
        return -EACCES;
}

/* The port rules of one of the slice's addresses. */
static int bind_on(const policy_address *pa, uint16_t port, policy_bind *ret)
{
        policy_bind b = { .addr = pa->addr, .port = port };
        int r;

        if (pa->shared) {
                r = policy_port_map(pa->port_lo, pa->port_hi, port);
                if (r < 0)
                        return r;
                b.port = (uint16_t)r;
                b.lo = pa->port_lo;
                b.hi = pa->port_hi;
        }
        *ret = b;
        return 0;
}

/* Loopback works as on an ordinary host: the kernel's own privileged-port
 * rule (net.ipv4.ip_unprivileged_port_start) applies, no ranges. */
static int bind_loopback(const uoa_addr *a, uint16_t port, uint16_t unpriv_port_start,
                         policy_bind *ret)
{
        if (port != 0 && port < unpriv_port_start)
                return -EACCES;
        *ret = (policy_bind){ .addr = *a, .port = port };
        return 0;
}

/* The wildcard: the slice's primary address of the family; a dual-stack
 * AF_INET6 socket falls back to the primary IPv4 address (v4-mapped). */
static const policy_address *wildcard_address(const policy_slice *s, int family,
                                              int sock_family, bool v6only)
{
        const policy_address *pa = policy_slice_primary(s, family);

        if (!pa && family == AF_INET6 && sock_family == AF_INET6 && !v6only)
                pa = policy_slice_primary(s, AF_INET);
        return pa;
}

int policy_bind_decide(const policy_slice *s, int sock_family, bool v6only,
                       const uoa_addr *addr, uint16_t port,
                       uint16_t unpriv_port_start, policy_bind *ret)
{
        const policy_address *pa;
        uoa_addr a;

        if (!s || !addr || !ret)
                return -EINVAL;
        if ((sock_family != AF_INET && sock_family != AF_INET6) || uoa_addr_size(addr->family) == 0)
                return -EAFNOSUPPORT;
        /* Checked before unmapping: an AF_INET socket takes no IPv6 form,
         * v4-mapped included (inet_bind() refuses the sockaddr_in6). */
        if (addr->family == AF_INET6 && sock_family == AF_INET)
                return -EAFNOSUPPORT;
        a = policy_addr_unmap(addr);
        /* An IPv4 (mapped) address on a v6only socket: Linux's __inet6_bind()
         * says EINVAL ("makes no sense"), so the slice sees the same. */
        if (a.family == AF_INET && sock_family == AF_INET6 && v6only)
                return -EINVAL;
        if (uoa_addr_is_any(&a))
                pa = wildcard_address(s, a.family, sock_family, v6only);
        else if (uoa_addr_is_loopback(&a))
                return bind_loopback(&a, port, unpriv_port_start, ret);
        else
                pa = policy_slice_address(s, &a);
        if (!pa)
                return -EADDRNOTAVAIL;
        return bind_on(pa, port, ret);
}

/* Offset plus k modulo size visits each port exactly once; the hashed seed
 * (say, a per-socket value) spreads concurrent searches over the range so
 * they do not all collide on its first ports. */
uint16_t policy_port_candidate(uint16_t lo, uint16_t hi, uint32_t seed, uint32_t k)
{
        uint32_t size, offset, x = seed;

        if (lo > hi)
                return lo;
        size = (uint32_t)hi - lo + 1;
        x ^= x >> 16;
        x *= 0x7feb352dU;
        x ^= x >> 15;
        x *= 0x846ca68bU;
        x ^= x >> 16;
        offset = x % size;
        return (uint16_t)(lo + (offset + k % size) % size);
}
