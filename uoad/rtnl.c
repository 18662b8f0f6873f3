/* uoad/rtnl.c: synchronous rtnetlink request/ack and dump (rtnl.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/macro.h"
#include "uoad/rtnl.h"

static uint32_t rtnl_seq; /* a file-level static: one counter for the process, whatever the socket */

#define RTNL_BATCH_MAX 256           /* requests per send: their acks fit the receive buffer */
#define RTNL_BATCH_BYTES (64 * 1024) /* and so do the requests, in one skb */

int rtnl_socket_open(int flags, uint32_t groups, uint32_t *ret_portid)
{
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
        socklen_t len = sizeof(sa);
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | flags, NETLINK_ROUTE);

        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        if (ret_portid) {
                if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0)
                        return negative_errno();
                *ret_portid = sa.nl_pid;
        }
        return TAKE_FD(fd);
}

int rtnl_open(void)
{
        int fd = rtnl_socket_open(0, 0, NULL), one = 1;

        /* Acks without the request echoed: a batch's acks stay small. */
        if (fd >= 0)
                (void) setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
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

/* Send what is queued and read one ack per request (NLMSG_ERROR, error 0
 * for success), keeping the first error not tolerated. */
static void rtnl_batch_flush(rtnl_batch *b)
{
        static char buf[32768];
        uint32_t first = rtnl_seq + 1;
        unsigned acked = 0;

        if (b->n == 0)
                return;
        for (size_t off = 0; off < b->len;) {
                struct nlmsghdr *m = (struct nlmsghdr *) (b->buf + off);

                m->nlmsg_seq = ++rtnl_seq;
                m->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
                off += NLMSG_ALIGN(m->nlmsg_len);
        }
        if (send(b->fd, b->buf, b->len, 0) < 0) {
                b->r = negative_errno();
                b->len = b->n = 0;
                return;
        }
        while (acked < b->n) {
                ssize_t got = recv(b->fd, buf, sizeof(buf), 0);
                int n = (int) got;

                if (got < 0) {
                        if (b->r == 0)
                                b->r = negative_errno();
                        break;
                }
                for (struct nlmsghdr *m = (struct nlmsghdr *) buf; mnl_nlmsg_ok(m, n); m = mnl_nlmsg_next(m, &n)) {
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);

                        if (m->nlmsg_type != NLMSG_ERROR || m->nlmsg_seq < first || m->nlmsg_seq > rtnl_seq ||
                            mnl_nlmsg_get_payload_len(m) < sizeof(*e))
                                continue;
                        acked++;
                        if (e->error && e->error != b->tolerate && b->r == 0)
                                b->r = e->error;
                }
        }
        b->len = b->n = 0;
}

void rtnl_batch_add(rtnl_batch *b, const struct nlmsghdr *nlh)
{
        if (b->r < 0)
                return;
        if (!b->buf && !(b->buf = malloc(RTNL_BATCH_BYTES))) {
                b->r = -ENOMEM;
                return;
        }
        if (b->n == RTNL_BATCH_MAX || b->len + NLMSG_ALIGN(nlh->nlmsg_len) > RTNL_BATCH_BYTES)
                rtnl_batch_flush(b);
        if (b->r < 0)
                return;
        memcpy(b->buf + b->len, nlh, nlh->nlmsg_len);
        b->len += NLMSG_ALIGN(nlh->nlmsg_len);
        b->n++;
}

int rtnl_batch_done(rtnl_batch *b)
{
        if (b->r == 0)
                rtnl_batch_flush(b);
        free(b->buf);
        b->buf = NULL;
        return b->r;
}
