/* common/addr.c: the uoa_addr type's conversions (text, sockaddrs) and the
 * small predicates the policy and the supervisor share. Pure: no I/O. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"

/* The RFC 2133 sockaddr_in6 size (no sin6_scope_id); the kernel accepts it. */
#define SIN6_LEN_RFC2133 24u

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int uoa_addr_parse(const char *s, uoa_addr *ret)
{
        uoa_addr a = {};

        if (!s || !ret)
                return -EINVAL;
        /* inet_pton() refuses brackets, ports, scopes, octal and short
         * dotted forms ("1.2.3"), which is exactly the strictness wanted. */
        a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(a.family, s, a.bytes) != 1)
                return -EINVAL;
        *ret = a;
        return 0;
}

const char *uoa_addr_format(const uoa_addr *a, char *buf, size_t len)
{
        char tmp[UOA_ADDR_STRLEN];

        if (!buf || len == 0)
                return buf;
        if (!a || uoa_addr_size(a->family) == 0 ||
            !inet_ntop(a->family, a->bytes, tmp, sizeof(tmp)))
                snprintf(tmp, sizeof(tmp), "?");
        snprintf(buf, len, "%s", tmp);
        return buf;
}

const char *uoa_addr_port_format(const uoa_addr *a, uint16_t port, char *buf, size_t len)
{
        char tmp[UOA_ADDR_STRLEN];

        if (!buf || len == 0)
                return buf;
        uoa_addr_format(a, tmp, sizeof(tmp));
        if (a && a->family == AF_INET6)
                snprintf(buf, len, "[%s]:%u", tmp, (unsigned)port);
        else
                snprintf(buf, len, "%s:%u", tmp, (unsigned)port);
        return buf;
}

unsigned uoa_addr_size(int family)
{
        switch (family) {
        case AF_INET:
                return 4;
        case AF_INET6:
                return 16;
        default:
                return 0;
        }
}

bool uoa_addr_equal(const uoa_addr *a, const uoa_addr *b)
{
        unsigned n;

        if (!a || !b || a->family != b->family)
                return false;
        n = uoa_addr_size(a->family);
        return n > 0 && memcmp(a->bytes, b->bytes, n) == 0;
}

bool uoa_addr_is_any(const uoa_addr *a)
{
        unsigned n = a ? uoa_addr_size(a->family) : 0;

        if (n == 0)
                return false;
        for (unsigned i = 0; i < n; i++)
                if (a->bytes[i])
                        return false;
        return true;
}

bool uoa_addr_is_loopback(const uoa_addr *a)
{
        if (!a)
                return false;
        if (a->family == AF_INET)
                return a->bytes[0] == 127;
        if (a->family != AF_INET6)
                return false;
        /* ::ffff:127.x.y.z is what an IPv4 loopback looks like to an
         * AF_INET6 socket; count it as loopback too. */
        if (memcmp(a->bytes, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0)
                return a->bytes[12] == 127;
        return IN6_IS_ADDR_LOOPBACK(&a->v6);
}

unsigned uoa_addr_common_prefix(const uoa_addr *a, const uoa_addr *b)
{
        unsigned n, bits = 0;

        if (!a || !b || a->family != b->family)
                return 0;
        n = uoa_addr_size(a->family);
        for (unsigned i = 0; i < n; i++) {
                uint8_t x = a->bytes[i] ^ b->bytes[i];

                if (x == 0) {
                        bits += 8;
                        continue;
                }
                return bits + (unsigned)__builtin_clz(x) - 24;
        }
        return bits;
}

/* splitmix64's finaliser: cheap and mixes every input bit into the result. */
static uint64_t mix64(uint64_t x)
{
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebULL;
        x ^= x >> 31;
        return x;
}

uint64_t uoa_addr_hash(const uoa_addr *a)
{
        uint64_t hi = 0, lo = 0;

        if (!a)
                return 0;
        if (a->family == AF_INET6) {
                memcpy(&hi, a->bytes, 8);
                memcpy(&lo, a->bytes + 8, 8);
        } else {
                uint32_t v4;

                memcpy(&v4, a->bytes, 4);
                lo = v4;
        }
        return mix64(hi ^ mix64(lo ^ (uint64_t)(unsigned)a->family));
}

int uoa_sockaddr_decode(const struct sockaddr *sa, size_t len, uoa_addr *ret_addr,
                        uint16_t *ret_port, bool *ret_mapped)
{
        sa_family_t family;
        uoa_addr a = {};
        uint16_t port;
        bool mapped = false;

        if (!sa || !ret_addr || len < sizeof(family))
                return -EINVAL;
        /* The sockaddr may come from an unaligned copy of a slice's memory. */
        memcpy(&family, sa, sizeof(family));
        if (family == AF_INET) {
                struct sockaddr_in sin;

                if (len < sizeof(sin))
                        return -EINVAL;
                memcpy(&sin, sa, sizeof(sin));
                a.family = AF_INET;
                a.v4 = sin.sin_addr;
                port = ntohs(sin.sin_port);
        } else if (family == AF_INET6) {
                struct sockaddr_in6 sin6 = {};

                if (len < SIN6_LEN_RFC2133)
                        return -EINVAL;
                memcpy(&sin6, sa, SIN6_LEN_RFC2133);
                port = ntohs(sin6.sin6_port);
                if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
                        a.family = AF_INET;
                        memcpy(a.bytes, sin6.sin6_addr.s6_addr + 12, 4);
                        mapped = true;
                } else {
                        a.family = AF_INET6;
                        a.v6 = sin6.sin6_addr;
                }
        } else
                return -EAFNOSUPPORT;

        *ret_addr = a;
        if (ret_port)
                *ret_port = port;
        if (ret_mapped)
                *ret_mapped = mapped;
        return 0;
}

int uoa_sockaddr_encode(const uoa_addr *a, uint16_t port, int sock_family,
                        struct sockaddr_storage *ret)
{
        if (!a || !ret)
                return -EINVAL;
        if (a->family == AF_INET && sock_family == AF_INET) {
                struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

                sin.sin_addr = a->v4;
                memset(ret, 0, sizeof(*ret));
                memcpy(ret, &sin, sizeof(sin));
                return (int)sizeof(sin);
        }
        if (sock_family == AF_INET6 && (a->family == AF_INET || a->family == AF_INET6)) {
                struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

                if (a->family == AF_INET) {
                        memcpy(sin6.sin6_addr.s6_addr, v4mapped_prefix, sizeof(v4mapped_prefix));
                        memcpy(sin6.sin6_addr.s6_addr + 12, a->bytes, 4);
                } else
                        sin6.sin6_addr = a->v6;
                memset(ret, 0, sizeof(*ret));
                memcpy(ret, &sin6, sizeof(sin6));
                return (int)sizeof(sin6);
        }
        return -EAFNOSUPPORT;
}
