/* uoad/shape_monitor.c: shaping for interfaces that appear after the policy
 * was applied (shape.h). The kernel's link notifications (RTMGRP_LINK) tell
 * when one comes; the policy is then re-applied, which, being a diff,
 * touches only the new interface; when a shaped interface goes, its IFB
 * goes too. Interfaces uoad has seen (at start, or since) do not trigger
 * anything, nor do its own IFBs. */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/grow.h"
#include "common/log.h"
#include "common/macro.h"
#include "uoad/rtnl.h"
#include "uoad/shape.h"
#include "uoad/shape_internal.h"
#include "uoad/shape_monitor.h"
#include "uoad/uoad.h"

static bool known(const shape_monitor *mon, int ifindex)
{
        for (size_t i = 0; i < mon->n; i++)
                if (mon->known[i] == ifindex)
                        return true;
        return false;
}

static int remember(shape_monitor *mon, int ifindex)
{
        if (GROW(mon->known, mon->cap, mon->n + 1, 64) < 0)
                return -ENOMEM;
        mon->known[mon->n++] = ifindex;
        return 0;
}

int shape_monitor_open(uoad *d)
{
        shape_monitor *mon = &d->shape_monitor;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = mon };
        _cleanup_close_ int fd = rtnl_socket_open(SOCK_NONBLOCK, RTMGRP_LINK, NULL);
        _cleanup_close_ int dump = -1;
        slinks links = {};
        int r = 0;

        if (fd < 0)
                return fd;
        /* Subscribed first, then the dump: a link that comes in between is
         * both in the dump and notified, never in neither. */
        dump = rtnl_open();
        if (dump < 0)
                return dump;
        r = shape_links_dump(dump, &links);
        for (size_t i = 0; r == 0 && i < links.n; i++)
                r = remember(mon, links.v[i].ifindex);
        free(links.v);
        if (r < 0)
                return r;
        if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return negative_errno();
        mon->fd = TAKE_FD(fd);
        return 0;
}

static void forget(shape_monitor *mon, int ifindex)
{
        for (size_t i = 0; i < mon->n; i++)
                if (mon->known[i] == ifindex)
                        mon->known[i] = mon->known[--mon->n];
}

/* True if nlh announces an interface we have not seen and may shape, or
 * the end of one we shaped (its IFB goes then). */
static bool link_changed(shape_monitor *mon, const struct nlmsghdr *nlh)
{
        const struct nlattr *tb[ATTR_MAX] = {};
        const struct ifinfomsg *ifi;

        if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
            !(ifi = shape_msg_parse(nlh, sizeof(*ifi), tb)))
                return false;
        if (nlh->nlmsg_type == RTM_DELLINK) {
                bool was = known(mon, ifi->ifi_index);

                forget(mon, ifi->ifi_index);
                return was && tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0 &&
                       !policy_shape_interface_exempt(mnl_attr_get_str(tb[IFLA_IFNAME]));
        }
        if (known(mon, ifi->ifi_index))
                return false;
        if (remember(mon, ifi->ifi_index) < 0)
                return true; /* cannot track it: apply every time rather than never */
        return !tb[IFLA_IFNAME] || mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0 ||
               !policy_shape_interface_exempt(mnl_attr_get_str(tb[IFLA_IFNAME]));
}

void shape_monitor_event(uoad *d)
{
        static char buf[32768];
        bool apply = false;
        char err[512];
        ssize_t n;

        while ((n = recv(d->shape_monitor.fd, buf, sizeof(buf), 0)) > 0 || (n < 0 && errno == ENOBUFS)) {
                if (n < 0) {
                        apply = true; /* notifications were lost: look at everything */
                        continue;
                }
                int len = (int) n;

                for (struct nlmsghdr *nlh = (struct nlmsghdr *) buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len))
                        apply |= link_changed(&d->shape_monitor, nlh);
        }
        if (apply && d->policy && shape_apply(d->policy, err, sizeof(err)) < 0)
                log_error("shaping the changed interfaces failed: %s", err);
}
