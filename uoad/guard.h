/* uoad/guard.h: the kernel guard for policy p (nftables, ip rules, slice
 * tables) (uoad/guard.c). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"
#include "uoad/uoad.h"

/* old: the policy whose guard is in force (NULL: unknown, rebuild it all). */
int guard_apply(uoad *d, const policy *old, const policy *p, char *err, size_t errlen);
int guard_remove(uoad *d);
/* Put a slice table's throw route back if it is gone (over rtnetlink socket
 * fd): 1 if it had to, 0 if it was there, or -errno. */
int guard_throw_restore(int fd, int family, uint32_t table);
