/* uoad/notify_worker.h: the workers that serve the listeners, and the
 * watchdog that leaves a stalled one to its slice (docs/design.md §5.5). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "uoad/uoad.h"

int notify_workers_start(uoad *d, int epoll_fd);
int notify_workers_drain(unsigned timeout_ms, char *why, size_t whylen);
void notify_workers_undrain(void);
void notify_workers_stop(void);
bool notify_read_allowed(uid_t uid); /* false: the slice has stalled its share of workers */
int uoad_thread_start(void *(*f)(void *), void *arg, size_t stack_size); /* detached, signals blocked */
