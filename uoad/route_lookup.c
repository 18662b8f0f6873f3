/* uoad/route_lookup.c: ask the kernel which source address it prefers
 * for a destination, routed as the slice's uid (RTM_GETROUTE with RTA_UID,
 * so `uidrange` rules and the slice table's `src` apply). Used only when a
 * slice has more than one address of the family. */
#include <errno.h>
#include <pthread.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/macro.h"
#include "uoad/route_lookup.h"
#include "uoad/rtnl.h"

int route_lookup_open(void)
{
        struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
        _cleanup_close_ int fd = rtnl_socket_open(0, 0, NULL);

        if (fd < 0)
                return fd;
        /* The kernel answers a route lookup synchronously; the timeout only
         * bounds a surprise, it never waits on a slice. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

struct prefsrc_ctx {
        int family;
        uoa_addr *ret;
        bool found;
};

static int prefsrc_attr(const struct nlattr *a, void *data)
{
        struct prefsrc_ctx *ctx = data;
        unsigned size = uoa_addr_size(ctx->family);

        if (mnl_attr_get_type(a) == RTA_PREFSRC && mnl_attr_get_payload_len(a) == size) {
                ctx->ret->family = ctx->family;
                memcpy(ctx->ret->bytes, mnl_attr_get_payload(a), size);
                ctx->found = true;
        }
        return MNL_CB_OK;
}

static int prefsrc_msg(const struct nlmsghdr *nlh, void *data)
{
        if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct rtmsg))
                return MNL_CB_OK;
        return mnl_attr_parse(nlh, sizeof(struct rtmsg), prefsrc_attr, data);
}

static int prefsrc_talk(int fd, const uoa_addr *dst, uid_t uid, uoa_addr *ret);

/* One socket for every worker: a lookup's request and replies are one
 * exchange at a time. */
int route_lookup_prefsrc(int fd, const uoa_addr *dst, uid_t uid, uoa_addr *ret)
{
        static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
        int r;

        pthread_mutex_lock(&lock);
        r = prefsrc_talk(fd, dst, uid, ret);
        pthread_mutex_unlock(&lock);
        return r;
}

static int prefsrc_talk(int fd, const uoa_addr *dst, uid_t uid, uoa_addr *ret)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        static uint32_t seq;
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;
        struct prefsrc_ctx ctx = { .family = dst->family };
        uoa_addr found;
        ssize_t n;
        int r;

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETROUTE;
        nlh->nlmsg_flags = NLM_F_REQUEST;
        nlh->nlmsg_seq = ++seq;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = (unsigned char) dst->family;
        rtm->rtm_dst_len = (unsigned char) (uoa_addr_size(dst->family) * 8);
        mnl_attr_put(nlh, RTA_DST, uoa_addr_size(dst->family), dst->bytes);
        mnl_attr_put_u32(nlh, RTA_UID, uid);
        if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
                return negative_errno();
        ctx.ret = &found;
        do {
                n = recv(fd, buf, sizeof(buf), 0);
                if (n < 0)
                        return negative_errno();
                r = mnl_cb_run(buf, (size_t) n, seq, 0, prefsrc_msg, &ctx);
        } while (r == MNL_CB_OK && !ctx.found);
        if (r < 0)
                return negative_errno(); /* e.g. ENETUNREACH: no route */
        if (!ctx.found)
                return -ENOENT;
        *ret = found;
        return 0;
}
