/* uoad/notify_sockopt.c: the socket options that choose an outgoing
 * interface (SO_BINDTODEVICE, SO_BINDTOIFINDEX, IP(V6)_UNICAST_IF,
 * IP(V6)_MULTICAST_IF), limited to the slice's interfaces when it lists any.
 * The kernel guard enforces the same list on every packet (oifname); this
 * gives the caller an honest EPERM at the call. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/macro.h"
#include "uoad/notify.h"
#include "uoad/notify_sockopt.h"
#include "uoad/target.h"
#include "uoad/uoad.h"

#define OPTVAL_MAX 64u /* larger than every option handled here */

static bool ifindex_allowed(const notif *n, int ifindex, char *name)
{
        if (ifindex == 0)
                return true; /* 0 clears the choice: the guard still applies */
        return if_indextoname((unsigned) ifindex, name) && policy_slice_may_use_interface(n->slice, name);
}

/* For IP_MULTICAST_IF's address forms: unset, or an address of the slice. */
static bool mcast_addr_allowed(const notif *n, const struct in_addr *a)
{
        uoa_addr u = { .family = AF_INET, .v4 = *a };

        return uoa_addr_is_any(&u) || policy_slice_address(n->slice, &u);
}

/* Returns true if the option's value names an interface the slice may use;
 * name gets the interface name for the log. */
static bool sockopt_allowed(const notif *n, int level, int opt, const uint8_t *v, size_t len, char *name)
{
        int i = 0;

        if (len >= sizeof(int))
                memcpy(&i, v, sizeof(int));
        if (level == SOL_SOCKET && opt == SO_BINDTODEVICE) {
                size_t l = strnlen((const char *) v, len < IFNAMSIZ - 1 ? len : IFNAMSIZ - 1);

                memcpy(name, v, l);
                name[l] = '\0';
                return l == 0 || policy_slice_may_use_interface(n->slice, name);
        }
        if (level == SOL_SOCKET && opt == SO_BINDTOIFINDEX)
                return ifindex_allowed(n, i, name);
        if ((level == SOL_IP && opt == IP_UNICAST_IF) || (level == SOL_IPV6 && opt == IPV6_UNICAST_IF))
                return ifindex_allowed(n, (int) ntohl((uint32_t) i), name); /* network order */
        if (level == SOL_IPV6 && opt == IPV6_MULTICAST_IF)
                return ifindex_allowed(n, i, name);
        if (level == SOL_IP && opt == IP_MULTICAST_IF) {
                struct ip_mreqn mr = {};

                memcpy(&mr, v, len < sizeof(mr) ? len : sizeof(mr));
                if (len >= sizeof(struct ip_mreqn) && mr.imr_ifindex)
                        return ifindex_allowed(n, mr.imr_ifindex, name);
                /* struct in_addr, ip_mreq and ip_mreqn without index: the
                 * interface address comes first or second. */
                return mcast_addr_allowed(n, len >= sizeof(struct ip_mreq) ? &mr.imr_address : &mr.imr_multiaddr);
        }
        return false;
}

void notify_setsockopt(notif *n)
{
        int level = (int) n->req->data.args[1], opt = (int) n->req->data.args[2];
        uint32_t len = (uint32_t) n->req->data.args[4];
        _cleanup_close_ int sock = -1;
        uint8_t v[OPTVAL_MAX + 1] = {};
        char name[IF_NAMESIZE + 1] = "";
        int r;

        /* A slice without an interface list may use any: nothing to decide,
         * and nothing read from its memory. Continuing is safe whatever file
         * the number names at the kernel's act: any socket of the caller may
         * take any interface option, and the kernel applies it with the
         * caller's own privileges, as if nothing had trapped. */
        if (n->slice->n_ifnames == 0)
                return notify_reply_continue(n);
        sock = target_fd_get(n, (int) n->req->data.args[0]);
        if (sock < 0)
                return notify_reply_error(n, sock);
        if (len > OPTVAL_MAX)
                len = OPTVAL_MAX; /* every option here reads less than that */
        r = target_mem_read(n, n->req->data.args[3], v, len);
        if (r < 0)
                return notify_reply_error(n, r);
        if (!target_id_valid(n))
                return notify_reply_error(n, -ENOENT);
        if (!sockopt_allowed(n, level, opt, v, len, name))
                return notify_refusal(n, "setsockopt", -EPERM, *name ? name : "(interface not the slice's)");
        /* Performed on our copy of the value: the target cannot swap it. */
        r = setsockopt(sock, level, opt, v, len);
        notify_reply_error(n, r < 0 ? negative_errno() : 0);
}
