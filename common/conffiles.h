/* common/conffiles.h: reading a configuration that is one file plus its
 * drop-ins (docs/design.md §3, §9): FILE, then FILE.d/ *.conf in strcmp order;
 * or, given a directory, DIR/ *.conf alone. */
#pragma once

#include <stddef.h>

typedef struct conffile {
        char *path;
        char *text;               /* as read, not NUL-terminated */
        size_t len;
} conffile;

typedef struct conffiles {
        conffile *files;          /* the main file first */
        size_t n, cap;
} conffiles;

/* Drop-in names: ending in ".conf", not starting with '.' (editors' and
 * package managers' leftovers, "x.conf.dpkg-old", ".x.conf.swp", are not read). */
#define CONFFILES_SUFFIX ".conf"

/* Read path (a file and its path.d/, which may be missing; or a directory)
 * into *ret. At most max bytes are read in all, plus one: a caller that sees
 * more than max knows the configuration is too large. Returns 0, or -errno
 * with err saying which file and why ("PATH: reason"); *ret is untouched then. */
int conffiles_read(const char *path, size_t max, conffiles *ret, char *err, size_t errlen);
void conffiles_done(conffiles *c);
