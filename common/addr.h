/* common/addr.h: one IPv4-or-IPv6 address type, and the conversions between it,
 * text and sockaddrs that the policy, the supervisor and the tools share. Pure. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address of one family. IPv4-mapped IPv6 addresses are never stored as
 * AF_INET6: sockaddr conversion turns them into AF_INET and reports "mapped". */
typedef struct uoa_addr {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr v4;
                struct in6_addr v6;
                uint8_t bytes[16];
        };
} uoa_addr;

/* Longest text form: an IPv6 address plus brackets, port and NUL. */
#define UOA_ADDR_STRLEN (INET6_ADDRSTRLEN + 8)

/* Parse "1.2.3.4" or "2001:db8::1" (no brackets, no port, no scope). An
 * IPv4-mapped IPv6 literal is kept as AF_INET6 here: the policy refuses it. */
int uoa_addr_parse(const char *s, uoa_addr *ret);
/* Format the address alone into buf (at least UOA_ADDR_STRLEN bytes). */
const char *uoa_addr_format(const uoa_addr *a, char *buf, size_t len);
/* "1.2.3.4:80" or "[2001:db8::1]:80". */
const char *uoa_addr_port_format(const uoa_addr *a, uint16_t port, char *buf, size_t len);

bool uoa_addr_equal(const uoa_addr *a, const uoa_addr *b);
bool uoa_addr_is_any(const uoa_addr *a);       /* 0.0.0.0 or :: */
bool uoa_addr_is_loopback(const uoa_addr *a);  /* 127.0.0.0/8 or ::1 */
unsigned uoa_addr_size(int family);            /* 4, 16, or 0 */
/* Number of leading bits a and b share (0 when the families differ). */
unsigned uoa_addr_common_prefix(const uoa_addr *a, const uoa_addr *b);
uint64_t uoa_addr_hash(const uoa_addr *a);

/* Decode a sockaddr of len bytes. AF_INET needs len >= sizeof(sockaddr_in),
 * AF_INET6 len >= 24 (RFC 2133 size, as the kernel accepts). An IPv4-mapped
 * IPv6 address comes back as AF_INET with *ret_mapped = true.
 * Returns 0, -EINVAL for a short length, -EAFNOSUPPORT for another family. */
int uoa_sockaddr_decode(const struct sockaddr *sa, size_t len, uoa_addr *ret_addr,
                        uint16_t *ret_port, bool *ret_mapped);
/* Encode for a socket of sock_family: an AF_INET address on an AF_INET6
 * socket becomes IPv4-mapped. Returns the sockaddr length, or -EAFNOSUPPORT
 * for an IPv6 address on an AF_INET socket. */
int uoa_sockaddr_encode(const uoa_addr *a, uint16_t port, int sock_family,
                        struct sockaddr_storage *ret);
