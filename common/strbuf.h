/* common/strbuf.h: a growable NUL-terminated string for building text
 * (nft scripts, replies). An allocation failure is sticky: strbuf_done()
 * then returns NULL, so callers check once at the end. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/macro.h"

typedef struct strbuf {
        char *s;
        size_t len, cap;
        bool failed;
} strbuf;

void strbuf_printf(strbuf *b, const char *fmt, ...) _printf_(2, 3);
/* The string (caller frees), or NULL if any append failed. */
char *strbuf_done(strbuf *b);
