/* uoad/shape.h: per-slice bandwidth (§3 egress/ingress) in the kernel's
 * traffic control, from policy/policy_shape.h's plan (uoad/shape.c). */
#pragma once

#include <sys/types.h>

#include "policy/policy.h"

struct strbuf;
/* Bring the interfaces' qdiscs and classes to p's plan, touching only what
 * differs; err says what failed. */
int shape_apply(const policy *p, char *err, size_t errlen);
/* Take every qdisc, class and device of ours away (SIGTERM). */
int shape_remove(void);
/* "UID egress|ingress BYTES PACKETS DROPS OVERLIMITS" a line, summed over
 * the interfaces, for each shaped slice of p (only_uid's alone if set). */
void shape_stats_format(const policy *p, struct strbuf *b, const uid_t *only_uid);
#define SHAPE_MARKER "%shape\n" /* separates them from the call counters in "show" */
