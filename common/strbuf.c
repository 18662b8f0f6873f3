/* common/strbuf.c: growable string (strbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/grow.h"
#include "common/strbuf.h"

void strbuf_printf(strbuf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (b->failed)
                return;
        for (;;) {
                size_t room = b->cap - b->len;

                va_start(ap, fmt);
                n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        b->failed = true;
                        return;
                }
                if ((size_t) n < room) {
                        b->len += (size_t) n;
                        return;
                }
                if (GROW(b->s, b->cap, b->len + (size_t) n + 1, 256) < 0) {
                        b->failed = true;
                        return;
                }
        }
}

char *strbuf_done(strbuf *b)
{
        char *s = b->s;

        if (b->failed || !s) {
                free(s);
                s = b->failed ? NULL : calloc(1, 1);
        }
        *b = (strbuf) {};
        return s;
}
