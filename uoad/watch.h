/* uoad/watch.h: the tag uoad's loop (uoad.c) dispatches an epoll event on.
 * A header without a .c, apart from uoad.h: the parts' state structs that
 * uoad.h embeds start with one. */
#pragma once

/* What an epoll event's data.ptr points at; the first member of each owner. */
typedef enum watch_kind {
        WATCH_CONTROL,
        WATCH_CONN,
        WATCH_LISTENER,
        WATCH_SIGNAL,
        WATCH_BPF_EVENTS, /* engine_bpf.c: the kernel engine's refusals */
        WATCH_CALLER,    /* caller.c: a thread ended */
        WATCH_SHAPE_LINKS, /* shape_monitor.c: an interface appeared */
        WATCH_NL_CTL,    /* uoad/relay.c: a client's control connection */
        WATCH_NL_DATA,   /* ... its data socket */
        WATCH_NL_KERNEL, /* ... our kernel socket for it */
} watch_kind;
