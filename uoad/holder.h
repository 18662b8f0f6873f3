/* uoad/holder.h: a process of ours that keeps every session's fds across a
 * crash of uoad, for grace_s seconds (docs/enforcement.md) (uoad/holder.c). */
#pragma once

#include <pthread.h>

/* uoad.h embeds this header's state in struct uoad, so it only names it. */
typedef struct uoad uoad;

/* uoad's connection to its holder (d->holder). */
typedef struct holder_conn {
        pthread_mutex_t send_lock; /* workers remove listeners too */
        int fd;                    /* -1: no holder */
} holder_conn;
#define HOLDER_CONN_INIT { .send_lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 }

int holder_attach(uoad *d, unsigned grace_s, char **ret_state); /* for d->socket_path */
int holder_fd(const uoad *d);
void holder_set(uoad *d, int fd);
void holder_add(uoad *d, unsigned key, const char *text, const int *fds, unsigned n);
void holder_del(uoad *d, unsigned key);
void holder_quit(uoad *d);
