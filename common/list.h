/* common/list.h: an intrusive doubly-linked list (after systemd's
 * src/basic/list.h): an element type has `prev` and `next` pointers to its
 * own type, and a list is a pointer to its first element (NULL: empty). */
#pragma once

#include <stddef.h>

/* Put item first. */
#define LIST_PREPEND(head, item)                                        \
        do {                                                            \
                __typeof__(*(head)) **_head = &(head), *_item = (item); \
                _item->prev = NULL;                                     \
                _item->next = *_head;                                   \
                if (*_head)                                             \
                        (*_head)->prev = _item;                         \
                *_head = _item;                                         \
        } while (0)

/* Put item last (a walk from the head to the end: for short lists, or
 * lists that must stay in order of arrival). */
#define LIST_APPEND(head, item)                                         \
        do {                                                            \
                __typeof__(*(head)) **_tail = &(head), *_item = (item); \
                _item->prev = NULL;                                     \
                for (; *_tail; _tail = &(*_tail)->next)                 \
                        _item->prev = *_tail;                           \
                _item->next = NULL;                                     \
                *_tail = _item;                                         \
        } while (0)

/* Unlink item, which is in the list; its own pointers are cleared. */
#define LIST_REMOVE(head, item)                                         \
        do {                                                            \
                __typeof__(*(head)) **_head = &(head), *_item = (item); \
                if (_item->prev)                                        \
                        _item->prev->next = _item->next;                \
                else                                                    \
                        *_head = _item->next;                           \
                if (_item->next)                                        \
                        _item->next->prev = _item->prev;                \
                _item->prev = _item->next = NULL;                       \
        } while (0)

#define LIST_FOREACH(i, head) for (__typeof__(head) i = (head); i; i = i->next)
