/* common/fastpath.h: the one agreement between the seccomp filter
 * (uoa-run/filter.c) and the shim (libuoa-preload/preload.c).
 *
 * sendto() with a destination traps so that uoad can bind an unbound socket
 * to the slice's source first. On a socket already bound to a specific
 * address there is nothing left to decide: the kernel cannot choose another
 * source. The shim says "this socket is bound" by passing this address
 * length (the destination copied into a zeroed buffer of that size; the
 * kernel accepts any length from the family's size up to 128), and the
 * filter lets such a call through without a round trip.
 *
 * The mark is a claim, not a credential: a process that makes it on an
 * unbound socket (no shim, or lying) lets the kernel pick the source, and
 * the kernel guard drops whatever is not the slice's (see filter.c). */
#pragma once

#define UOA_SENDTO_BOUND_LEN 125 /* no sockaddr has this size */
