/* uoad/control.h: the control/registration socket (uoad/control.c) and
 * serving a policy. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"
#include "uoad/watch.h"

/* uoad.h embeds this header's state in struct uoad, so it only names it. */
typedef struct uoad uoad;

/* The listening socket and its connections (d->control). */
typedef struct control_socket {
        watch_kind kind;    /* WATCH_CONTROL: the listening socket's epoll data.ptr */
        int fd;
        struct conn *conns; /* all open connections, oldest first for the sweep */
} control_socket;
#define CONTROL_SOCKET_INIT { .kind = WATCH_CONTROL, .fd = -1 }

int control_open(uoad *d);
void control_event(uoad *d, void *watch, uint32_t events, uint64_t now);
void control_sweep(uoad *d, uint64_t now);
void control_close(uoad *d);
/* The handover to a re-executed uoad (resume.c): the listening socket and
 * the connections waiting for a request (those with a reply half sent are
 * not handed over: their clients see the connection close). */
int control_fd(const uoad *d);
void control_conns_each(uoad *d, void (*f)(int fd, void *userdata), void *userdata);
int control_adopt(uoad *d, int fd);
void control_conn_adopt(uoad *d, int fd, uint64_t now_ms);
int uoad_policy_text_set(uoad *d, const char *text, size_t len, const char *label, char *err, size_t errlen);
/* Read the main file and its drop-ins, validate them as one policy and
 * serve it; on any error (every one in err, one a line) nothing changes. */
int uoad_policy_load(uoad *d, char *err, size_t errlen);
/* Make p the served policy: guard first, then swap; on failure
 * the old policy and its guard stay and p is freed. */
int uoad_policy_set(uoad *d, policy *p, char *err, size_t errlen);
