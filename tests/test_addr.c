/* tests/test_addr.c: unit tests of common/addr.c (text and sockaddr
 * conversions, prefix arithmetic) as the supervisor and policy use them. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "common/addr.h"

static uoa_addr A(const char *s)
{
        uoa_addr a;

        cr_assert_eq(uoa_addr_parse(s, &a), 0, "parse %s", s);
        return a;
}

Test(addr, parses_ipv4_and_ipv6_and_formats_canonically)
{
        char buf[UOA_ADDR_STRLEN];
        uoa_addr a = A("1.254.1.2"), b = A("2001:DB8:1:0:0::2");

        cr_assert_eq(a.family, AF_INET);
        cr_assert_str_eq(uoa_addr_format(&a, buf, sizeof(buf)), "1.254.1.2");
        cr_assert_eq(b.family, AF_INET6);
        cr_assert_str_eq(uoa_addr_format(&b, buf, sizeof(buf)), "2001:db8:1::2");
}

Test(addr, refuses_malformed_text_and_leaves_result_untouched)
{
        const char *bad[] = { "1.2.3", "1.2.3.4:80", "[::1]", "fe80::1%eth0", "1.2.3.256",
                              "", "::1/128", " 1.2.3.4", "1.2.3.4 ", "0x1.2.3.4", "2001:db8::1::2" };
        uoa_addr a = { .family = 12345 };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                cr_assert_eq(uoa_addr_parse(bad[i], &a), -EINVAL, "'%s' accepted", bad[i]);
                cr_assert_eq(a.family, 12345);
        }
}

Test(addr, keeps_ipv4_mapped_literal_as_ipv6)
{
        uoa_addr a = A("::ffff:10.1.2.3");

        cr_assert_eq(a.family, AF_INET6);
}

Test(addr, port_format_brackets_ipv6_only)
{
        char buf[UOA_ADDR_STRLEN];
        uoa_addr a = A("10.0.0.1"), b = A("2001:db8::1");

        cr_assert_str_eq(uoa_addr_port_format(&a, 80, buf, sizeof(buf)), "10.0.0.1:80");
        cr_assert_str_eq(uoa_addr_port_format(&b, 65535, buf, sizeof(buf)), "[2001:db8::1]:65535");
}

Test(addr, format_never_overflows_a_small_buffer)
{
        char buf[8];
        uoa_addr b = A("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff");

        memset(buf, 'x', sizeof(buf));
        uoa_addr_format(&b, buf, 5);
        cr_assert_str_eq(buf, "2001");
        cr_assert_eq(buf[5], 'x');
}

Test(addr, loopback_and_any_predicates)
{
        cr_assert(uoa_addr_is_loopback(&(uoa_addr){ .family = AF_INET, .bytes = { 127, 9, 9, 9 } }));
        cr_assert(uoa_addr_is_loopback(&(uoa_addr){ .family = AF_INET6, .bytes = { [15] = 1 } }));
        cr_assert(uoa_addr_is_loopback(&(uoa_addr){ .family = AF_INET6,
                                                    .bytes = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 } }));
        cr_assert_not(uoa_addr_is_loopback(&(uoa_addr){ .family = AF_INET, .bytes = { 128, 0, 0, 1 } }));
        cr_assert(uoa_addr_is_any(&(uoa_addr){ .family = AF_INET }));
        cr_assert(uoa_addr_is_any(&(uoa_addr){ .family = AF_INET6 }));
        cr_assert_not(uoa_addr_is_any(&(uoa_addr){ .family = AF_UNIX }));
}

Test(addr, common_prefix_counts_shared_leading_bits)
{
        uoa_addr a = A("10.0.0.0"), b = A("10.0.0.1"), c = A("138.0.0.0");
        uoa_addr d = A("2001:db8::"), e = A("2001:db8:8000::");

        cr_assert_eq(uoa_addr_common_prefix(&a, &b), 31);
        cr_assert_eq(uoa_addr_common_prefix(&a, &a), 32);
        cr_assert_eq(uoa_addr_common_prefix(&a, &c), 0);
        cr_assert_eq(uoa_addr_common_prefix(&d, &e), 32);
        cr_assert_eq(uoa_addr_common_prefix(&d, &d), 128);
        cr_assert_eq(uoa_addr_common_prefix(&a, &d), 0, "different families share nothing");
}

Test(addr, equal_and_hash_agree)
{
        uoa_addr a = A("192.0.2.1"), b = A("192.0.2.1"), c = A("::c000:201");

        b.bytes[8] = 0x55; /* bytes past an IPv4 address are not part of it */
        cr_assert(uoa_addr_equal(&a, &b));
        cr_assert_eq(uoa_addr_hash(&a), uoa_addr_hash(&b));
        cr_assert_not(uoa_addr_equal(&a, &c));
        cr_assert_neq(uoa_addr_hash(&a), uoa_addr_hash(&c));
        cr_assert_eq(uoa_addr_size(AF_INET), 4);
        cr_assert_eq(uoa_addr_size(AF_INET6), 16);
        cr_assert_eq(uoa_addr_size(AF_PACKET), 0);
}

Test(addr, sockaddr_decode_refuses_short_lengths)
{
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
        uoa_addr a = { .family = 777 };
        uint16_t port = 4242;
        bool mapped = true;

        cr_assert_eq(uoa_sockaddr_decode((void *)&sin, sizeof(sin) - 1, &a, &port, &mapped), -EINVAL);
        cr_assert_eq(uoa_sockaddr_decode((void *)&sin6, 23, &a, &port, &mapped), -EINVAL);
        cr_assert_eq(uoa_sockaddr_decode((void *)&sin, 1, &a, &port, &mapped), -EINVAL);
        cr_assert_eq(uoa_sockaddr_decode((void *)&sin, 0, &a, &port, &mapped), -EINVAL);
        cr_assert_eq(a.family, 777, "untouched on failure");
        cr_assert_eq(port, 4242);
        cr_assert(mapped);
        /* RFC 2133's 24-byte sockaddr_in6 is accepted, as by the kernel. */
        cr_assert_eq(uoa_sockaddr_decode((void *)&sin6, 24, &a, &port, &mapped), 0);
        cr_assert_eq(a.family, AF_INET6);
}

Test(addr, sockaddr_decode_refuses_other_families)
{
        struct sockaddr_storage ss = { .ss_family = AF_UNIX };
        uoa_addr a;

        cr_assert_eq(uoa_sockaddr_decode((void *)&ss, sizeof(ss), &a, NULL, NULL), -EAFNOSUPPORT);
        ss.ss_family = AF_PACKET;
        cr_assert_eq(uoa_sockaddr_decode((void *)&ss, sizeof(ss), &a, NULL, NULL), -EAFNOSUPPORT);
}

Test(addr, sockaddr_decode_turns_mapped_into_ipv4)
{
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(10022) };
        char buf[UOA_ADDR_STRLEN];
        uoa_addr a;
        uint16_t port;
        bool mapped = false;

        inet_pton(AF_INET6, "::ffff:133.69.37.10", &sin6.sin6_addr);
        cr_assert_eq(uoa_sockaddr_decode((void *)&sin6, sizeof(sin6), &a, &port, &mapped), 0);
        cr_assert_eq(a.family, AF_INET);
        cr_assert_str_eq(uoa_addr_format(&a, buf, sizeof(buf)), "133.69.37.10");
        cr_assert_eq(port, 10022);
        cr_assert(mapped);
}

Test(addr, sockaddr_decode_reads_unaligned_buffers)
{
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
        unsigned char raw[sizeof(sin) + 1];
        uoa_addr a;
        uint16_t port;

        sin.sin_addr.s_addr = htonl(0x0a000001);
        memcpy(raw + 1, &sin, sizeof(sin));
        cr_assert_eq(uoa_sockaddr_decode((void *)(raw + 1), sizeof(sin), &a, &port, NULL), 0);
        cr_assert_eq(a.v4.s_addr, htonl(0x0a000001));
        cr_assert_eq(port, 53);
}

Test(addr, sockaddr_encode_maps_ipv4_for_ipv6_sockets)
{
        struct sockaddr_storage ss;
        struct sockaddr_in6 *sin6 = (void *)&ss;
        uoa_addr a = A("10.1.3.1"), back;
        uint16_t port;
        bool mapped;

        cr_assert_eq(uoa_sockaddr_encode(&a, 8080, AF_INET6, &ss), (int)sizeof(struct sockaddr_in6));
        cr_assert_eq(sin6->sin6_family, AF_INET6);
        cr_assert(IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr));
        cr_assert_eq(uoa_sockaddr_decode((void *)&ss, sizeof(*sin6), &back, &port, &mapped), 0);
        cr_assert(uoa_addr_equal(&a, &back));
        cr_assert_eq(port, 8080);
        cr_assert(mapped);
        cr_assert_eq(uoa_sockaddr_encode(&a, 1, AF_INET, &ss), (int)sizeof(struct sockaddr_in));
}

Test(addr, sockaddr_encode_refuses_ipv6_on_ipv4_socket)
{
        struct sockaddr_storage ss;
        uoa_addr b = A("2001:db8::1");

        cr_assert_eq(uoa_sockaddr_encode(&b, 80, AF_INET, &ss), -EAFNOSUPPORT);
        cr_assert_eq(uoa_sockaddr_encode(&b, 80, AF_UNIX, &ss), -EAFNOSUPPORT);
        cr_assert_eq(uoa_sockaddr_encode(&b, 80, AF_INET6, &ss), (int)sizeof(struct sockaddr_in6));
}
