/* uoad/caps.h: the capabilities uoad keeps (the list and why: caps.c). */
#pragma once

/* Drop to exactly the capabilities in caps.c's list: the bounding set first,
 * so that no later execve (a re-exec in place, §5.7) can give any other
 * back, then the effective and permitted sets; inheritable and ambient are
 * emptied. A uoad holding no capability at all (an unprivileged run) has
 * nothing to drop and succeeds. Returns 0 or -errno. */
int caps_drop(void);
