/* tests/test_wire.c: the control protocol's request parser and reply
 * status: what uoad accepts from any local user, and what clients read. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "common/wire.h"

static int parse(const char *s, wire_request *r)
{
        return wire_request_parse(s, strlen(s), r);
}

Test(wire, register_carries_uid_and_fd)
{
        wire_request r;

        cr_assert_eq(parse("register 1001 3", &r), 0);
        cr_assert_eq(r.verb, WIRE_REGISTER);
        cr_assert_eq(r.uid, 1001);
        cr_assert_eq(r.fd, 3);
}

Test(wire, register_without_fd_is_refused)
{
        wire_request r;

        cr_assert_eq(parse("register 1001", &r), -EINVAL);
        cr_assert_eq(parse("register", &r), -EINVAL);
        cr_assert_eq(parse("register x 3", &r), -EINVAL);
}

Test(wire, numbers_that_overflow_are_refused)
{
        wire_request r;

        cr_assert_eq(parse("register 4294967295 3", &r), -EINVAL); /* (uid_t) -1 */
        cr_assert_eq(parse("register 99999999999999999999 3", &r), -EINVAL);
        cr_assert_eq(parse("register 1 99999999999", &r), -EINVAL);
}

Test(wire, show_with_and_without_uid)
{
        wire_request r;

        cr_assert_eq(parse("show", &r), 0);
        cr_assert_eq(r.has_uid, 0);
        cr_assert_eq(parse("show 1002\n", &r), 0);
        cr_assert_eq(r.has_uid, 1);
        cr_assert_eq(r.uid, 1002);
}

Test(wire, add_keeps_its_lines_as_body)
{
        wire_request r;
        const char *req = "add\nu00 address 10.0.0.1\nu00 raw";

        cr_assert_eq(parse(req, &r), 0);
        cr_assert_eq(r.verb, WIRE_ADD);
        cr_assert_eq(r.body_len, strlen("u00 address 10.0.0.1\nu00 raw"));
        cr_assert_eq(memcmp(r.body, "u00 address 10.0.0.1", 20), 0);
}

Test(wire, add_without_lines_is_refused)
{
        wire_request r;

        cr_assert_eq(parse("add", &r), -EINVAL);
        cr_assert_eq(parse("del\n", &r), -EINVAL);
}

Test(wire, unknown_verbs_and_prefixes_are_refused)
{
        wire_request r;

        cr_assert_eq(parse("shutdown", &r), -EINVAL);
        cr_assert_eq(parse("showx", &r), -EINVAL);
        cr_assert_eq(parse("reload now", &r), -EINVAL);
        cr_assert_eq(parse("", &r), -EINVAL);
}

Test(wire, nul_bytes_and_oversize_requests_are_refused)
{
        wire_request r;
        static char big[WIRE_REQUEST_MAX + 2];

        cr_assert_eq(wire_request_parse("show\0 1", 7, &r), -EINVAL);
        memset(big, 'a', sizeof(big) - 1);
        cr_assert_eq(wire_request_parse(big, sizeof(big) - 1, &r), -E2BIG);
}

Test(wire, reply_status_ok_and_error)
{
        char ok[] = "ok\n1001 address 10.0.0.1\n", bad[] = "error 2 has no slice\n", junk[] = "hello";
        const char *msg, *payload;

        cr_assert_eq(wire_reply_status(ok, &msg, &payload), 0);
        cr_assert_str_eq(payload, "1001 address 10.0.0.1\n");
        cr_assert_eq(wire_reply_status(bad, &msg, &payload), -ENOENT);
        cr_assert_str_eq(msg, "has no slice");
        cr_assert_eq(wire_reply_status(junk, &msg, &payload), -EBADMSG);
}
