/* tests/nltest.h: the fixture and helpers the netlink-proxy suites share
 * (test_nlsan.c, test_nlrewrite.c; defined in nltest.c): a policy of three
 * slices and their views, message buffers, attribute parsing. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "netlink-proxy/nlproxy.h"

#define OUT_CAP 4096
#define SEQ 42
#define NATTR 64

extern policy *pol;
extern nl_view V, BIG, RO; /* table 100 + veth0; table 32800, any interface; no table */
extern uint8_t req_buf[OUT_CAP], out_buf[OUT_CAP], rw_buf[OUT_CAP];

void setup(void);
void teardown(void);
void put_addr(struct nlmsghdr *nlh, uint16_t type, const char *text);

/* An output message's attributes, which must walk cleanly to nlmsg_len. */
typedef struct parsed {
        const struct nlattr *tb[NATTR];
        unsigned count[NATTR];
        uint16_t order[NATTR];
        unsigned n;
} parsed;

parsed parse(const struct nlmsghdr *nlh, size_t hdr);
void assert_addr(const struct nlattr *a, const char *text);
