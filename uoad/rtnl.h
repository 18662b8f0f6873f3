/* uoad/rtnl.h: small synchronous rtnetlink helpers over libmnl for the
 * daemon's own kernel state changes (never on a slice's behalf). */
#pragma once

#include <libmnl/libmnl.h>

int rtnl_open(void);
/* Send one request with NLM_F_ACK; 0 or the kernel's -errno. */
int rtnl_talk(int fd, struct nlmsghdr *nlh);
/* Send a dump request and run cb on every message until NLMSG_DONE. */
int rtnl_dump(int fd, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
