/* libuoa-preload/nl_sockopt.c: the netlink socket's identity and options on
 * a proxied socket: bind, connect, getsockname, getpeername, setsockopt and
 * getsockopt answered as net/netlink/af_netlink.c answers them, with the
 * port id uoad assigned. SOL_NETLINK options that change what uoad sends
 * (ack format, strict checking, groups) go to uoad; SOL_SOCKET options act
 * natively on the data socket (SO_RCVBUF, SO_ATTACH_FILTER: FRR's classic
 * BPF filter reads the same bytes there as on a netlink socket). */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "common/wire.h"
#include "libuoa-preload/preload.h"

/* The kernel's rtnetlink group count (nlk->ngroups once groups exist). */
#define RTNL_NGROUPS RTNLGRP_MAX

static int opt_send(nlsock *s, char type, const uint32_t *vals, size_t n)
{
        char msg[1 + 2 * sizeof(uint32_t)];

        msg[0] = type;
        memcpy(msg + 1, vals, n * sizeof(uint32_t));
        return nl_call(s, msg, 1 + n * sizeof(uint32_t));
}

/* Copy what fits of a sockaddr_nl, report its full length (move_addr_to_user). */
static int name_out(const struct sockaddr_nl *nl, struct sockaddr *sa, socklen_t *len)
{
        if (!len || (*len && !sa))
                return -EFAULT;
        if ((int) *len < 0)
                return -EINVAL;
        memcpy(sa, nl, *len < sizeof(*nl) ? *len : sizeof(*nl));
        *len = NL_SOCKADDR_LEN;
        return 0;
}

int nl_bind(nlsock *s, const struct sockaddr *sa, socklen_t len)
{
        struct sockaddr_nl nl;
        uint32_t groups;
        int r;

        if (len > sizeof(struct sockaddr_storage))
                return -EINVAL;
        if (len && !sa)
                return -EFAULT;
        if (len < sizeof(nl))
                return -EINVAL;
        memcpy(&nl, sa, sizeof(nl));
        if (nl.nl_family != AF_NETLINK)
                return -EINVAL;
        /* nl_pid is not ours to choose: the socket is uoad's port id. */
        pthread_mutex_lock(&s->state);
        groups = s->groups[0];
        pthread_mutex_unlock(&s->state);
        if (!nl.nl_groups && !groups)
                return 0;
        r = opt_send(s, WIRE_NL_GROUPS, &nl.nl_groups, 1);
        if (r < 0)
                return r;
        pthread_mutex_lock(&s->state);
        /* bind() sets groups 1-32, as nlk->groups[0]'s low word. */
        s->groups[0] = nl.nl_groups;
        s->groups_alloc |= nl.nl_groups != 0;
        pthread_mutex_unlock(&s->state);
        return 0;
}

int nl_connect(nlsock *s, const struct sockaddr *sa, socklen_t len)
{
        struct sockaddr_nl nl;

        (void) s;
        if (len > sizeof(struct sockaddr_storage))
                return -EINVAL;
        if (len && !sa)
                return -EFAULT;
        if (len < sizeof(sa_family_t))
                return -EINVAL;
        if (sa->sa_family == AF_UNSPEC)
                return 0;
        if (len < sizeof(nl))
                return -EINVAL;
        memcpy(&nl, sa, sizeof(nl));
        if (nl.nl_family != AF_NETLINK)
                return -EINVAL;
        /* Talking to another port or a group needs CAP_NET_ADMIN for
         * rtnetlink (no NL_CFG_F_NONROOT_SEND). */
        return nl.nl_pid || nl.nl_groups ? -EPERM : 0;
}

int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
        nlsock *s = NL_GET(fd);
        struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

        if (!s)
                return REAL(getsockname)(fd, sa, len);
        pthread_mutex_lock(&s->state);
        nl.nl_pid = s->portid;
        nl.nl_groups = s->groups[0];
        pthread_mutex_unlock(&s->state);
        nl_put(s);
        return nl_ret(name_out(&nl, sa, len));
}

/* Netlink sockets always have a peer: the kernel, unless connect() chose
 * another (which a slice may not). */
int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
        nlsock *s = NL_GET(fd);
        struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

        if (!s)
                return REAL(getpeername)(fd, sa, len);
        nl_put(s);
        return nl_ret(name_out(&nl, sa, len));
}

static void option_record(nlsock *s, int opt, uint32_t val)
{
        pthread_mutex_lock(&s->state);
        switch (opt) {
        case NETLINK_ADD_MEMBERSHIP:
        case NETLINK_DROP_MEMBERSHIP:
                s->groups_alloc = true;
                if (val <= NL_GROUP_WORDS * 32) {
                        uint32_t bit = 1u << ((val - 1) % 32);

                        if (opt == NETLINK_ADD_MEMBERSHIP)
                                s->groups[(val - 1) / 32] |= bit;
                        else
                                s->groups[(val - 1) / 32] &= ~bit;
                }
                break;
        default:
                if (val)
                        s->options |= 1u << opt;
                else
                        s->options &= ~(1u << opt);
        }
        pthread_mutex_unlock(&s->state);
}

/* netlink_setsockopt(): an optlen shorter than an int means 0. */
static int netlink_setopt(nlsock *s, int opt, const void *optval, socklen_t optlen)
{
        uint32_t v = 0, msg[2];
        int r;

        if (optlen >= sizeof(int)) {
                if (!optval)
                        return -EFAULT;
                memcpy(&v, optval, sizeof(v));
        }
        switch (opt) {
        case NETLINK_PKTINFO:
        case NETLINK_BROADCAST_ERROR:
                /* Only change what this process sees: kept here. */
                option_record(s, opt, v);
                return 0;
        case NETLINK_EXT_ACK:
        case NETLINK_CAP_ACK:
        case NETLINK_GET_STRICT_CHK:
        case NETLINK_NO_ENOBUFS:
                v = v != 0;
                break;
        case NETLINK_ADD_MEMBERSHIP:
        case NETLINK_DROP_MEMBERSHIP:
                if (v == 0)
                        return -EINVAL;
                break;
        case NETLINK_LISTEN_ALL_NSID:
                return -EPERM; /* needs CAP_NET_BROADCAST */
        default:
                return -ENOPROTOOPT; /* NETLINK_RX_RING/TX_RING are gone since 4.6 */
        }
        msg[0] = (uint32_t) opt;
        msg[1] = v;
        r = opt_send(s, WIRE_NL_SOCKOPT, msg, 2);
        if (r == 0)
                option_record(s, opt, v);
        return r < 0 ? r : 0;
}

int setsockopt(int fd, int level, int opt, const void *optval, socklen_t optlen)
{
        nlsock *s = NL_GET(fd);
        int r;

        if (!s)
                return REAL(setsockopt)(fd, level, opt, optval, optlen);
        if (level == SOL_SOCKET)
                r = REAL(setsockopt)(fd, level, opt, optval, optlen);
        else
                r = level == SOL_NETLINK ? nl_ret(netlink_setopt(s, opt, optval, optlen)) : nl_ret(-ENOPROTOOPT);
        nl_put(s);
        return r;
}

/* An int option as sock_getsockopt() returns it: as much as fits. */
static int int_out(int v, void *optval, socklen_t *optlen)
{
        if (!optlen)
                return -EFAULT;
        if ((int) *optlen < 0)
                return -EINVAL;
        if (*optlen > sizeof(int))
                *optlen = sizeof(int);
        if (*optlen && !optval)
                return -EFAULT;
        memcpy(optval, &v, *optlen);
        return 0;
}

/* NETLINK_LIST_MEMBERSHIPS: the group bitmap, u32 words as far as the
 * buffer takes them; optlen gets the full size. */
static int memberships_out(nlsock *s, void *optval, socklen_t *optlen)
{
        unsigned ngroups = s->groups_alloc ? RTNL_NGROUPS : 0;
        size_t len = *optlen;

        for (size_t pos = 0; pos * 8 < ngroups && pos / 4 < NL_GROUP_WORDS; pos += 4) {
                if (len - pos < 4)
                        break;
                if (!optval)
                        return -EFAULT;
                memcpy((char *) optval + pos, &s->groups[pos / 4], 4);
        }
        *optlen = ((ngroups + 7) / 8 + 3) & ~3u;
        return 0;
}

static int netlink_getopt(nlsock *s, int opt, void *optval, socklen_t *optlen)
{
        int r;

        if (!optlen)
                return -EFAULT;
        if ((int) *optlen < 0)
                return -EINVAL;
        switch (opt) {
        case NETLINK_PKTINFO:
        case NETLINK_BROADCAST_ERROR:
        case NETLINK_NO_ENOBUFS:
        case NETLINK_LISTEN_ALL_NSID:
        case NETLINK_CAP_ACK:
        case NETLINK_EXT_ACK:
        case NETLINK_GET_STRICT_CHK:
                if (*optlen < sizeof(int))
                        return -EINVAL;
                pthread_mutex_lock(&s->state);
                r = int_out(!!(s->options & (1u << opt)), optval, optlen);
                pthread_mutex_unlock(&s->state);
                return r;
        case NETLINK_LIST_MEMBERSHIPS:
                pthread_mutex_lock(&s->state);
                r = memberships_out(s, optval, optlen);
                pthread_mutex_unlock(&s->state);
                return r;
        default:
                return -ENOPROTOOPT;
        }
}

int getsockopt(int fd, int level, int opt, void *optval, socklen_t *optlen)
{
        nlsock *s = NL_GET(fd);
        int r;

        if (!s)
                return REAL(getsockopt)(fd, level, opt, optval, optlen);
        if (level == SOL_SOCKET && opt == SO_DOMAIN)
                r = nl_ret(int_out(AF_NETLINK, optval, optlen));
        else if (level == SOL_SOCKET && opt == SO_PROTOCOL)
                r = nl_ret(int_out(NETLINK_ROUTE, optval, optlen));
        else if (level == SOL_SOCKET && opt == SO_TYPE)
                r = nl_ret(int_out(s->type, optval, optlen));
        else if (level == SOL_SOCKET)
                r = REAL(getsockopt)(fd, level, opt, optval, optlen);
        else if (level == SOL_NETLINK)
                r = nl_ret(netlink_getopt(s, opt, optval, optlen));
        else
                r = nl_ret(-ENOPROTOOPT);
        nl_put(s);
        return r;
}
