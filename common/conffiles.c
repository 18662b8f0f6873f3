/* common/conffiles.c: a configuration file and its drop-in directory, read
 * whole (common/conffiles.h). */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/grow.h"
#include "common/conffiles.h"
#include "common/macro.h"

static int fail(char *err, size_t errlen, const char *path, int r)
{
        snprintf(err, errlen, "%s: %s", path, strerror(-r));
        return r;
}

/* Append path's contents, at most *budget bytes, to c; *budget shrinks by
 * what was read. */
static int read_one(conffiles *c, const char *path, size_t *budget, char *err, size_t errlen)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *text = NULL, *copy = NULL;
        size_t len = 0, cap = 0;
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return fail(err, errlen, path, negative_errno());
        if (!S_ISREG(st.st_mode)) {
                snprintf(err, errlen, "%s: not a regular file", path);
                return -EINVAL;
        }
        for (;;) {
                ssize_t got;

                if (len == cap) {
                        size_t want = cap ? cap * 2 : 4096;
                        char *t;

                        if (want > *budget)
                                want = *budget;
                        if (want <= len)
                                break; /* the budget is spent */
                        t = realloc(text, want);
                        if (!t)
                                return -ENOMEM;
                        text = t;
                        cap = want;
                }
                got = read(fd, text + len, cap - len);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return fail(err, errlen, path, negative_errno());
                if (got == 0)
                        break;
                len += (size_t) got;
        }
        copy = strdup(path);
        if (!copy || GROW(c->files, c->cap, c->n + 1, 4) < 0)
                return -ENOMEM;
        c->files[c->n++] = (conffile){ .path = TAKE_PTR(copy), .text = TAKE_PTR(text), .len = len };
        *budget -= len;
        return 0;
}

static int select_conf(const struct dirent *e)
{
        size_t n = strlen(e->d_name), s = strlen(CONFFILES_SUFFIX);

        return e->d_name[0] != '.' && n > s && strcmp(e->d_name + n - s, CONFFILES_SUFFIX) == 0;
}

/* strcmp, not the locale's collation: the order is the same on every node. */
static int name_cmp(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

/* dir's *.conf in order; a missing dir is fine when optional. */
static int read_dir(conffiles *c, const char *dir, bool optional, size_t *budget, char *err, size_t errlen)
{
        struct dirent **names = NULL;
        int n, r = 0;

        n = scandir(dir, &names, select_conf, name_cmp);
        if (n < 0) {
                r = negative_errno();
                return optional && r == -ENOENT ? 0 : fail(err, errlen, dir, r);
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;

                if (r >= 0 && asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0) {
                        path = NULL;
                        r = -ENOMEM;
                }
                if (r >= 0)
                        r = read_one(c, path, budget, err, errlen);
                free(names[i]);
        }
        free(names);
        return r;
}

int conffiles_read(const char *path, size_t max, conffiles *ret, char *err, size_t errlen)
{
        _cleanup_free_ char *dir = NULL;
        conffiles c = {};
        struct stat st;
        int r;

        /* One byte past max: enough for the caller to know it is too much. */
        max = max < SIZE_MAX ? max + 1 : max;
        if (stat(path, &st) < 0)
                return fail(err, errlen, path, negative_errno());
        if (S_ISDIR(st.st_mode))
                r = read_dir(&c, path, false, &max, err, errlen);
        else if (asprintf(&dir, "%s.d", path) < 0) {
                dir = NULL;
                r = -ENOMEM;
        } else {
                r = read_one(&c, path, &max, err, errlen);
                if (r >= 0)
                        r = read_dir(&c, dir, true, &max, err, errlen);
        }
        if (r == -ENOMEM)
                snprintf(err, errlen, "%s: out of memory", path);
        if (r < 0) {
                conffiles_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void conffiles_done(conffiles *c)
{
        for (size_t i = 0; i < c->n; i++) {
                free(c->files[i].path);
                free(c->files[i].text);
        }
        free(c->files);
        *c = (conffiles){};
}
