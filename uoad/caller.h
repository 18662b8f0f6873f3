/* uoad/caller.h: bind/listen on our duplicate in the calling thread's
 * context (root, cwd, umask, ids, no capabilities), by a thread that
 * answers; the notification is answered either way (EAGAIN past the
 * slice's queue). (uoad/caller.c) */
#pragma once

#include <stddef.h>
#include <sys/socket.h>

#include "uoad/uoad.h"

typedef enum caller_call { CALLER_BIND, CALLER_LISTEN } caller_call;
int caller_init(uoad *d);
void caller_act(notif *n, int sock, caller_call call, const struct sockaddr_storage *addr, size_t addr_len,
                int backlog);
void caller_event(uoad *d); /* WATCH_CALLER: start queued calls */
void caller_shutdown(void);
unsigned caller_busy(void); /* calls running or queued: a re-exec waits for none */
