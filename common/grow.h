/* common/grow.h: growing an array by doubling (after systemd's
 * GREEDY_REALLOC): GROW(v, cap, need, first) makes room for need elements
 * of v, whose capacity *cap counts elements. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Capacity becomes first (when 0), doubled until it holds need. Returns 0,
 * or -ENOMEM with *p and *cap untouched (the old array stays valid). */
static inline int grow(void **p, size_t *cap, size_t need, size_t size, size_t first)
{
        size_t n = *cap ? *cap : first ? first : 1;
        void *v;

        if (need <= *cap)
                return 0;
        while (n < need) {
                if (n > SIZE_MAX / 2)
                        return -ENOMEM;
                n *= 2;
        }
        if (size && n > SIZE_MAX / size)
                return -ENOMEM;
        v = realloc(*p, n * size);
        if (!v)
                return -ENOMEM;
        *p = v;
        *cap = n;
        return 0;
}

#define GROW(v, cap, need, first) grow((void **) &(v), &(cap), (need), sizeof(*(v)), (first))
