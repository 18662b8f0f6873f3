/* uoad/rtnl.c: synchronous rtnetlink request/ack and dump (rtnl.h). */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/macro.h"
#include "uoad/rtnl.h"

static uint32_t rtnl_seq;

int rtnl_open(void)
{
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = negative_errno();

                close(fd);
                return r;
        }
        return fd;
}

static int rtnl_run(int fd, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
        static char buf[32768]; /* the kernel sends dump batches of at most 32 KiB */
        uint32_t seq = ++rtnl_seq;
        int r;

        nlh->nlmsg_seq = seq;
        if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
                return negative_errno();
        do {
                ssize_t n = recv(fd, buf, sizeof(buf), 0);

                if (n < 0)
                        return negative_errno();
                r = mnl_cb_run(buf, (size_t) n, seq, 0, cb, data);
        } while (r > MNL_CB_STOP);
        return r < 0 ? negative_errno() : 0;
}

int rtnl_talk(int fd, struct nlmsghdr *nlh)
{
        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        return rtnl_run(fd, nlh, NULL, NULL);
}

int rtnl_dump(int fd, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
        return rtnl_run(fd, nlh, cb, data);
}
