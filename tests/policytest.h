/* tests/policytest.h: the fixture the policy/ suites share (defined in
 * policytest.c): the design's example policy, numeric users, parsing that
 * must succeed or fail with a message, address helpers. */
#pragma once

#include <stddef.h>

#include "policy/policy.h"

#define U00 1000
#define U11 1011
#define U20 1020
#define U21 1021

extern const char design_example[];

int fake_resolve(const char *name, uid_t *ret_uid, void *userdata);
policy *parse_ok(const char *text);
void expect_error_len(const char *text, size_t len, int r, const char *want);
void expect_error(const char *text, const char *want);
uoa_addr A(const char *s);
const char *fmt(const uoa_addr *a);
