/* tests/test_list.c: common/list.h, the intrusive list uoad keeps its
 * connections, listeners and netlink clients on. */
#include <criterion/criterion.h>
#include <stddef.h>

#include "common/list.h"

typedef struct item {
        int v;
        struct item *prev, *next;
} item;

/* The values from head to tail, checking every back pointer on the way. */
static int walk(item *head, int *out, int max)
{
        int n = 0;
        item *prev = NULL;

        LIST_FOREACH(i, head) {
                cr_assert_eq(i->prev, prev, "item %d's prev is wrong", i->v);
                cr_assert_lt(n, max);
                out[n++] = i->v;
                prev = i;
        }
        return n;
}

Test(list, prepend_puts_first_and_append_puts_last)
{
        item a = { .v = 1 }, b = { .v = 2 }, c = { .v = 3 };
        item *head = NULL;
        int v[4];

        LIST_PREPEND(head, &b);
        LIST_PREPEND(head, &a);
        LIST_APPEND(head, &c);
        cr_assert_eq(walk(head, v, 4), 3);
        cr_assert(v[0] == 1 && v[1] == 2 && v[2] == 3);
}

Test(list, remove_of_head_middle_and_tail_keeps_the_rest_linked)
{
        item it[5];
        item *head = NULL;
        int v[5];

        for (int i = 0; i < 5; i++) {
                it[i] = (item) { .v = i };
                LIST_APPEND(head, &it[i]);
        }
        LIST_REMOVE(head, &it[0]);
        LIST_REMOVE(head, &it[2]);
        LIST_REMOVE(head, &it[4]);
        cr_assert_eq(walk(head, v, 5), 2);
        cr_assert(v[0] == 1 && v[1] == 3);
        cr_assert_null(it[2].prev);
        cr_assert_null(it[2].next);
        LIST_REMOVE(head, &it[1]);
        LIST_REMOVE(head, &it[3]);
        cr_assert_null(head);
}

Test(list, append_to_an_empty_list_makes_it_the_head)
{
        item a = { .v = 7, .prev = &a, .next = &a }; /* stale pointers are overwritten */
        item *head = NULL;
        int v[2];

        LIST_APPEND(head, &a);
        cr_assert_eq(head, &a);
        cr_assert_eq(walk(head, v, 2), 1);
}
