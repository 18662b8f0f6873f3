/* tests/test_grow.c: common/grow.h, the doubling every growable array of
 * uoa uses. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/grow.h"

Test(grow, starts_at_first_then_doubles)
{
        int *v = NULL;
        size_t cap = 0;

        cr_assert_eq(GROW(v, cap, 1, 16), 0);
        cr_assert_eq(cap, 16);
        cr_assert_eq(GROW(v, cap, 16, 16), 0);
        cr_assert_eq(cap, 16, "enough room: no change");
        cr_assert_eq(GROW(v, cap, 17, 16), 0);
        cr_assert_eq(cap, 32);
        cr_assert_eq(GROW(v, cap, 200, 16), 0);
        cr_assert_eq(cap, 256, "doubled until it holds need");
        v[255] = 1; /* the room is there (ASan would say otherwise) */
        free(v);
}

Test(grow, keeps_the_contents)
{
        int *v = NULL;
        size_t cap = 0;

        for (int i = 0; i < 1000; i++) {
                cr_assert_eq(GROW(v, cap, (size_t) i + 1, 4), 0);
                v[i] = i;
        }
        for (int i = 0; i < 1000; i++)
                cr_assert_eq(v[i], i);
        free(v);
}

Test(grow, an_impossible_size_fails_and_leaves_the_array)
{
        uint64_t *v = NULL;
        size_t cap = 0;

        cr_assert_eq(GROW(v, cap, 8, 8), 0);
        v[0] = 42;
        cr_assert_eq(GROW(v, cap, SIZE_MAX / 4, 8), -ENOMEM, "the byte count overflows");
        cr_assert_eq(GROW(v, cap, SIZE_MAX, 8), -ENOMEM, "the element count overflows");
        cr_assert_eq(cap, 8);
        cr_assert_eq(v[0], 42);
        free(v);
}

Test(grow, a_zero_first_still_grows)
{
        char *s = NULL;
        size_t cap = 0;

        cr_assert_eq(GROW(s, cap, 3, 0), 0);
        cr_assert_geq(cap, 3);
        free(s);
}
