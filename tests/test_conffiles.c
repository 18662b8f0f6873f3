/* tests/test_conffiles.c: unit tests of common/conffiles.c: which files a
 * configuration is read from, in which order, and its errors. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/conffiles.h"

static char dir[] = "/tmp/uoa-conffiles.XXXXXX";

static void setup(void)
{
        cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
        char cmd[64];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        cr_assert_eq(system(cmd), 0);
}

static const char *path(const char *name)
{
        static char buf[4][256];
        static int i;
        char *b = buf[i++ % 4];

        snprintf(b, 256, "%s/%s", dir, name);
        return b;
}

static void put(const char *name, const char *text)
{
        FILE *f = fopen(path(name), "w");

        cr_assert_not_null(f, "%s", path(name));
        fputs(text, f);
        fclose(f);
}

static void expect_files(const char *p, const char *const *want, size_t n)
{
        conffiles c = {};
        char err[512] = "";

        cr_assert_eq(conffiles_read(p, 1 << 20, &c, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(c.n, n);
        for (size_t i = 0; i < n; i++) {
                cr_assert_str_eq(c.files[i].path, path(want[i]));
                cr_assert_eq(c.files[i].len, strlen(want[i]), "%s's text", want[i]);
                cr_assert(memcmp(c.files[i].text, want[i], c.files[i].len) == 0);
        }
        conffiles_done(&c);
}

TestSuite(conffiles, .init = setup, .fini = teardown);

/* Each file holds its own name, so the order of texts is checked too. */
Test(conffiles, main_file_then_drop_ins_in_strcmp_order_and_only_dot_conf)
{
        static const char *const want[] = { "uoa.conf", "uoa.conf.d/10-b.conf", "uoa.conf.d/9-a.conf",
                                            "uoa.conf.d/B.conf", "uoa.conf.d/a.conf" };

        cr_assert_eq(mkdir(path("uoa.conf.d"), 0755), 0);
        for (size_t i = 0; i < 5; i++)
                put(want[i], want[i]);
        put("uoa.conf.d/c.conf.dpkg-old", "no");
        put("uoa.conf.d/.d.conf", "no");
        put("uoa.conf.d/e.conf~", "no");
        put("uoa.conf.d/.conf", "no");
        put("uoa.conf.d/README", "no");
        expect_files(path("uoa.conf"), want, 5);
}

Test(conffiles, a_missing_drop_in_directory_is_fine)
{
        static const char *const want[] = { "uoa.conf" };

        put("uoa.conf", "uoa.conf");
        expect_files(path("uoa.conf"), want, 1);
}

Test(conffiles, a_directory_is_its_dot_conf_files_alone)
{
        static const char *const want[] = { "d/x.conf", "d/y.conf" };

        cr_assert_eq(mkdir(path("d"), 0755), 0);
        put("d/y.conf", "d/y.conf");
        put("d/x.conf", "d/x.conf");
        put("d/z.txt", "no");
        expect_files(path("d"), want, 2);
}

Test(conffiles, errors_name_the_file_and_leave_ret_untouched)
{
        conffiles c = { .n = 42 };
        char err[512] = "", want[300];

        cr_assert_eq(conffiles_read(path("nope.conf"), 100, &c, err, sizeof(err)), -ENOENT);
        snprintf(want, sizeof(want), "%s: No such file or directory", path("nope.conf"));
        cr_assert_str_eq(err, want);
        put("uoa.conf", "");
        put("uoa.conf.d", "a file, not a directory");
        cr_assert_eq(conffiles_read(path("uoa.conf"), 100, &c, err, sizeof(err)), -ENOTDIR);
        cr_assert_not_null(strstr(err, "uoa.conf.d: Not a directory"), "%s", err);
        cr_assert_eq(unlink(path("uoa.conf.d")), 0);
        cr_assert_eq(mkdir(path("uoa.conf.d"), 0755), 0);
        cr_assert_eq(mkdir(path("uoa.conf.d/sub.conf"), 0755), 0);
        cr_assert_eq(conffiles_read(path("uoa.conf"), 100, &c, err, sizeof(err)), -EINVAL);
        cr_assert_not_null(strstr(err, "sub.conf: not a regular file"), "%s", err);
        cr_assert_eq(c.n, 42);
}

Test(conffiles, reading_stops_one_byte_past_the_limit)
{
        conffiles c = {};
        char err[64];
        size_t total = 0;

        cr_assert_eq(mkdir(path("uoa.conf.d"), 0755), 0);
        put("uoa.conf", "0123456789");
        put("uoa.conf.d/a.conf", "0123456789");
        put("uoa.conf.d/b.conf", "0123456789");
        cr_assert_eq(conffiles_read(path("uoa.conf"), 15, &c, err, sizeof(err)), 0);
        for (size_t i = 0; i < c.n; i++)
                total += c.files[i].len;
        cr_assert_eq(total, 16, "read %zu bytes", total);
        conffiles_done(&c);
}
