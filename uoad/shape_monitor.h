/* uoad/shape_monitor.h: interfaces that appear after the policy was
 * applied (a slice's tun0, a new VXLAN) are shaped as they come: a socket
 * on the kernel's link notifications, in uoad's epoll set (data.ptr's first
 * member is WATCH_SHAPE_LINKS); the event handler re-applies d's policy when
 * an interface it has not seen comes up (uoad/shape_monitor.c). */
#pragma once

#include <stddef.h>

#include "uoad/watch.h"

/* The socket and the interfaces seen (d->shape_monitor). */
typedef struct shape_monitor {
        watch_kind kind; /* WATCH_SHAPE_LINKS */
        int fd;
        int *known;      /* interfaces seen, by index */
        size_t n, cap;
} shape_monitor;
#define SHAPE_MONITOR_INIT { .kind = WATCH_SHAPE_LINKS, .fd = -1 }

struct uoad;
int shape_monitor_open(struct uoad *d);
void shape_monitor_event(struct uoad *d);
