/* uoad/control.h: the control/registration socket (uoad/control.c) and
 * serving a policy. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"
#include "uoad/uoad.h"

int control_open(uoad *d);
void control_event(uoad *d, void *watch, uint32_t events, uint64_t now);
void control_sweep(uoad *d, uint64_t now);
void control_close(uoad *d);
/* The handover to a re-executed uoad (resume.c): the listening socket and
 * the connections waiting for a request (those with a reply half sent are
 * not handed over: their clients see the connection close). */
int control_fd(void);
void control_conns_each(void (*f)(int fd, void *userdata), void *userdata);
int control_adopt(uoad *d, int fd);
void control_conn_adopt(uoad *d, int fd, uint64_t now_ms);
int uoad_policy_text_set(uoad *d, const char *text, size_t len, const char *label, char *err, size_t errlen);
/* Read the main file and its drop-ins, validate them as one policy and
 * serve it; on any error (every one in err, one a line) nothing changes. */
int uoad_policy_load(uoad *d, char *err, size_t errlen);
/* Make p the served policy: guard first, then swap; on failure
 * the old policy and its guard stay and p is freed. */
int uoad_policy_set(uoad *d, policy *p, char *err, size_t errlen);
