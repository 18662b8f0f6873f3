/* uoad/nss.c: getpwnam() as uoad links it, for libnftables' sake. nft reads
 * each uid of a set (the guard's `meta skuid` elements) by first asking
 * getpwnam() whether the word is a login name, and glibc rereads
 * /etc/passwd for every call: 100 000 slices cost four seconds at start.
 * A word of digits only is never a login (useradd refuses one, and the
 * policy reads such a word as a uid), so that is answered at once; any other
 * name is looked up as usual. This definition takes the place of libc's
 * for the whole process (the executable's symbols come first). */
#include <errno.h>
#include <pwd.h>
#include <stddef.h>

struct passwd *getpwnam(const char *name)
{
        static struct passwd pw;
        static char buf[16384];
        struct passwd *res = NULL;
        const char *c = name;
        int r;

        while (*c >= '0' && *c <= '9')
                c++;
        if (c != name && *c == '\0') {
                errno = 0;
                return NULL; /* not found: nft reads it as a number */
        }
        r = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
        if (r != 0)
                errno = r;
        return res;
}
