/* uoad/rtnl.h: small synchronous rtnetlink helpers over libmnl for the
 * daemon's own kernel state changes (never on a slice's behalf). */
#pragma once

#include <libmnl/libmnl.h>

/* A bound NETLINK_ROUTE socket, O_CLOEXEC plus flags (SOCK_NONBLOCK),
 * member of the legacy groups mask; its port id in *ret_portid if asked. */
int rtnl_socket_open(int flags, uint32_t groups, uint32_t *ret_portid);
/* rtnl_socket_open() for rtnl_talk/dump/batch: blocking, acks short. */
int rtnl_open(void);
/* Send one request with NLM_F_ACK; 0 or the kernel's -errno. */
int rtnl_talk(int fd, struct nlmsghdr *nlh);
/* Send a dump request and run cb on every message until NLMSG_DONE. */
int rtnl_dump(int fd, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* Many requests, sent RTNL_BATCH_MAX at a time in one send() and each
 * acknowledged: a policy of thousands of rules costs a few system calls,
 * not one round trip per rule. add() copies nlh in; the first error that is
 * not `tolerate` (0: none; e.g. -EEXIST for creates) is kept in r and stops
 * further sends. Finish with rtnl_batch_done(), which flushes and frees. */
typedef struct rtnl_batch {
        int fd;
        int tolerate;
        int r;
        char *buf;
        size_t len;
        unsigned n;
} rtnl_batch;

void rtnl_batch_add(rtnl_batch *b, const struct nlmsghdr *nlh);
int rtnl_batch_done(rtnl_batch *b);
