/* uoad/notify_send.c: connect(), sendto() with a destination, sendmsg()
 * and sendmmsg(): the calls that make the kernel choose a source address for
 * an unbound socket. We choose it instead (the slice's address that best fits
 * the destination), bind the socket to it, and let the kernel continue.
 *
 * Why CONTINUE is safe here although the kernel looks the fd number up again
 * (docs/design.md §5.2: another thread may have dup2-ed a different socket onto it)
 * and re-reads destination and control data from the target's memory:
 *  - on the file we looked at, the source is settled: non-INET sockets have
 *    no address of the policy's, and the others are bound to the slice's
 *    address (by the slice earlier, or by us just now);
 *  - on any other file the kernel picks the source itself (an unbound INET
 *    socket: routing through the slice's table, or the main one) or keeps
 *    that socket's binding. Whatever it picks, every packet of a slice's
 *    socket whose source is not the slice's (on a shared address: not in its
 *    port range) is dropped by the kernel guard's egress chain and the
 *    sender gets EPERM: IP_PKTINFO, MSG_FASTOPEN and loopback included (the
 *    guard's `oif "lo" accept` exemption is being closed, issue 19 point 2;
 *    this argument relies on it). So nothing leaves and nothing is
 *    delivered locally with another source, and no TCP handshake from one
 *    completes. What the kernel may leave behind is local: the swapped-in
 *    socket auto-bound to a source and an ephemeral port that are not the
 *    slice's (TCP: for that one 4-tuple while its SYNs are dropped; UDP: the
 *    wildcard), which an unbound UDP socket gets already from an untrapped
 *    send() (inet_send_prepare autobinds before EDESTADDRREQ) — nothing a
 *    slice cannot do without the race. listen, which would make such a
 *    socket take the port on every address, is never continued
 *    (notify_bind.c);
 *  - a unix connect must be the caller's own act: the kernel records the
 *    connecting task's credentials for the server's SO_PEERCRED, and uoad
 *    connecting would hand the server root's. */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "common/macro.h"
#include "uoad/notify.h"
#include "uoad/notify_bind.h"
#include "uoad/notify_send.h"
#include "uoad/target.h"
#include "uoad/uoad.h"

/* Reads the call's destination: 0 with *ss filled, 1 if the call has none,
 * or -errno (EFAULT for a bad pointer, as the kernel would answer). */
typedef int (*dest_reader)(const notif *n, struct sockaddr_storage *ss, size_t *len);

static int dest_connect(const notif *n, struct sockaddr_storage *ss, size_t *len)
{
        return target_sockaddr_read(n, n->req->data.args[1], n->req->data.args[2], ss, len);
}

static int dest_sendto(const notif *n, struct sockaddr_storage *ss, size_t *len)
{
        /* The filter traps sendto only with a non-NULL destination. */
        return target_sockaddr_read(n, n->req->data.args[4], n->req->data.args[5], ss, len);
}

static int dest_msghdr(const notif *n, uint64_t addr, struct sockaddr_storage *ss, size_t *len)
{
        struct msghdr mh;
        int r;

        r = target_mem_read(n, addr, &mh, sizeof(mh));
        if (r < 0)
                return r;
        if (!mh.msg_name || mh.msg_namelen == 0)
                return 1;
        return target_sockaddr_read(n, (uint64_t) (uintptr_t) mh.msg_name, mh.msg_namelen, ss, len);
}

static int dest_sendmsg(const notif *n, struct sockaddr_storage *ss, size_t *len)
{
        return dest_msghdr(n, n->req->data.args[1], ss, len);
}

static int dest_sendmmsg(const notif *n, struct sockaddr_storage *ss, size_t *len)
{
        /* The first message decides the source; the socket is bound after it. */
        if ((uint32_t) n->req->data.args[2] == 0)
                return 1;
        return dest_msghdr(n, n->req->data.args[1], ss, len);
}

static void send_prepare(notif *n, const char *call, dest_reader read_dest)
{
        _cleanup_close_ int sock = -1;
        struct sockaddr_storage ss;
        char what[UOA_ADDR_STRLEN + 8] = "";
        uoa_addr dst;
        uint16_t port = 0;
        bool mapped, have_dst;
        sock_info si;
        size_t len = 0;
        int r;

        sock = notif_socket_get(n, &si);
        if (sock < 0)
                return;
        /* Non-INET sockets (unix, netlink) and sockets already bound to the
         * slice's address: nothing to decide, and nothing read from memory;
         * CONTINUE is safe whatever the number names then (top of file). */
        if (si.state == SOCK_OTHER || si.state == SOCK_BOUND_OWN)
                return notify_reply_continue(n);
        if (si.state == SOCK_BOUND_FOREIGN)
                return notify_refusal(n, call, -EADDRNOTAVAIL, "on a socket bound outside the slice's addresses");
        r = read_dest(n, &ss, &len);
        if (r < 0)
                return notify_reply_error(n, r);
        if (!target_id_valid(n))
                return notify_reply_error(n, -ENOENT);
        /* A destination we cannot decode (AF_UNSPEC, short, other family) is
         * the kernel's to refuse; we still bind first so that it cannot
         * fall back to a source of its own choosing. */
        have_dst = r == 0 && uoa_sockaddr_decode((struct sockaddr *) &ss, len, &dst, &port, &mapped) == 0;
        r = sock_autobind(n, sock, &si, have_dst ? &dst : NULL);
        if (r < 0) {
                if (have_dst)
                        uoa_addr_port_format(&dst, port, what, sizeof(what));
                return notify_refusal(n, call, r, what);
        }
        /* Bound to the slice's source: the kernel continues (top of file). */
        notify_reply_continue(n);
}

void notify_connect(notif *n)
{
        send_prepare(n, "connect", dest_connect);
}

void notify_sendto(notif *n)
{
        send_prepare(n, "sendto", dest_sendto);
}

void notify_sendmsg(notif *n)
{
        send_prepare(n, "sendmsg", dest_sendmsg);
}

void notify_sendmmsg(notif *n)
{
        send_prepare(n, "sendmmsg", dest_sendmmsg);
}
