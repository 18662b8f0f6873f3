/* tests/policytest.c: the policy/ suites' shared fixture (policytest.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/policytest.h"

const char design_example[] =
        "u00 address 1.254.1.2\n"
        "u00 address 2001:db8:1::2\n"
        "u00 table 32800\n"
        "u00 interface tun0\n"
        "u00 raw\n"
        "u11 address 10.254.1.2\n"
        "u11 address 10.1.3.1\n"
        "u11 table 32811\n"
        "u20 address 133.69.37.10 ports 10000-10999\n"
        "u21 address 133.69.37.10 ports 11000-11999\n";


int fake_resolve(const char *name, uid_t *ret_uid, void *userdata)
{
        static const struct { const char *name; uid_t uid; } users[] = {
                { "u00", U00 }, { "u11", U11 }, { "u20", U20 }, { "u21", U21 }, { "alice", 2000 },
        };

        (void)userdata;
        for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
                if (strcmp(users[i].name, name) == 0) {
                        *ret_uid = users[i].uid;
                        return 0;
                }
        return -ENOENT;
}

policy *parse_ok(const char *text)
{
        char err[512] = "";
        policy *p = NULL;
        int r = policy_parse(text, strlen(text), "uoa.conf", fake_resolve, NULL, &p, err, sizeof(err));

        cr_assert_eq(r, 0, "parse failed: %d %s", r, err);
        cr_assert_not_null(p);
        return p;
}

/* Parsing fails with errno r and a message containing want; nothing returned. */
void expect_error_len(const char *text, size_t len, int r, const char *want)
{
        static policy *const untouched = (policy *)&untouched;
        char err[512] = "";
        policy *p = untouched;
        int got = policy_parse(text, len, "uoa.conf", fake_resolve, NULL, &p, err, sizeof(err));

        cr_assert_eq(got, r, "got %d (%s), want %d for:\n%s", got, err, r, text);
        cr_assert_eq(p, untouched, "*ret written on failure");
        cr_assert_not_null(strstr(err, want), "message '%s' lacks '%s'", err, want);
}

void expect_error(const char *text, const char *want)
{
        expect_error_len(text, strlen(text), -EINVAL, want);
}

uoa_addr A(const char *s)
{
        uoa_addr a;

        cr_assert_eq(uoa_addr_parse(s, &a), 0, "parse %s", s);
        return a;
}

const char *fmt(const uoa_addr *a)
{
        static char buf[4][UOA_ADDR_STRLEN];
        static int i;

        return uoa_addr_format(a, buf[i++ % 4], UOA_ADDR_STRLEN);
}
