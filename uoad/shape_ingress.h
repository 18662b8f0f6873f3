/* uoad/shape_ingress.h: ingress shaping (uoad/shape_ingress.c): the IFB of
 * interface l and its redirect, for sh; IFBs of ours whose interface is
 * gone; the interface an IFB name of ours serves (0: not one). */
#pragma once

#include "policy/policy_shape.h"
#include "uoad/shape_internal.h"

int shape_ingress_sync(int fd, const policy_shape *sh, const slink *l, const slinks *links, sqdiscs *roots);
int shape_ifb_strays_remove(int fd, const slinks *links);
int shape_ifb_of(const char *name);
