/* tests/fuzz/fuzz_sockaddr.c: libFuzzer target for what uoad decodes from a
 * slice's memory before deciding: sockaddrs of any length and family, then
 * the bind and source decisions on the result. Nothing may crash, and a
 * decided bind is always the slice's address or loopback. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static policy *pol;

static const policy_slice *slice(void)
{
        static const char text[] = "1001 address 10.0.0.11\n1001 address 2001:db8::11\n"
                                   "1001 address 10.0.0.20 ports 10000-10999\n";
        char err[256];

        if (!pol && policy_parse(text, strlen(text), "fuzz", NULL, NULL, &pol, err, sizeof(err)) < 0)
                abort();
        return policy_slice_find(pol, 1001);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct sockaddr_storage ss;
        const policy_slice *s = slice();
        size_t len = size > sizeof(ss) ? sizeof(ss) : size;
        uoa_addr a;
        uint16_t port;
        bool mapped;
        policy_bind b;

        memset(&ss, 0, sizeof(ss));
        memcpy(&ss, data, len);
        if (uoa_sockaddr_decode((struct sockaddr *) &ss, len, &a, &port, &mapped) < 0)
                return 0;
        if (a.family != AF_INET && a.family != AF_INET6)
                abort();
        for (int fam = AF_INET; fam <= AF_INET6; fam += AF_INET6 - AF_INET)
                if (policy_bind_decide(s, fam, port & 1, &a, port, 1024, &b) == 0 &&
                    !uoa_addr_is_loopback(&b.addr) && !policy_slice_address(s, &b.addr))
                        abort();
        if (policy_source_select(s, &a, NULL, &b) == 0 && !uoa_addr_is_loopback(&b.addr) &&
            !policy_slice_address(s, &b.addr))
                abort();
        return 0;
}
