/* uoad/route_lookup.h: the kernel's preferred source for a destination,
 * routed as a slice's uid (uoad/route_lookup.c). */
#pragma once

#include <sys/types.h>

#include "common/addr.h"

int route_lookup_open(void);
int route_lookup_prefsrc(int rtnl_fd, const uoa_addr *dst, uid_t uid, uoa_addr *ret);
