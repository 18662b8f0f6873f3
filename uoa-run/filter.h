/* uoa-run/filter.h: the seccomp filter uoa-run installs on itself before
 * exec'ing a slice's command. */
#pragma once

/* Install the filter (the caller has set no_new_privs or holds
 * CAP_SYS_ADMIN). Returns the notification listener fd, or -errno. */
int uoa_filter_install(unsigned traps); /* POLICY_TRAP_* bits of the calls to trap */
