/* uoad/notify_bind.c: bind() and listen() of supervised processes, and
 * the socket helpers every handler shares: what a socket is, and binding it
 * to what the policy decided. */
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "uoad/caller.h"
#include "uoad/engine_bpf.h"
#include "uoad/notify.h"
#include "uoad/notify_bind.h"
#include "uoad/route_lookup.h"
#include "uoad/target.h"
#include "uoad/uoad.h"


static int getsockopt_int(int fd, int level, int opt, int *ret)
{
        socklen_t len = sizeof(*ret);

        return getsockopt(fd, level, opt, ret, &len) < 0 ? negative_errno() : 0;
}

/* Whether an INET socket is unbound, bound to something of the slice's
 * (its address, in range on a shared one, or loopback) or bound to anything
 * else (e.g. a UDP socket the kernel auto-bound to the wildcard on a send
 * without destination, or a socket inherited from outside supervision). */
static sock_state sock_classify(const notif *n, int type, const struct sockaddr_storage *ss, socklen_t len)
{
        const policy_address *pa;
        uoa_addr a;
        uint16_t port;
        bool mapped;

        if (uoa_sockaddr_decode((const struct sockaddr *) ss, len, &a, &port, &mapped) < 0)
                return SOCK_BOUND_FOREIGN;
        if (type == SOCK_RAW)
                port = 0; /* a raw socket reports its protocol there */
        if (uoa_addr_is_any(&a))
                return port == 0 ? SOCK_UNBOUND : SOCK_BOUND_FOREIGN;
        if (uoa_addr_is_loopback(&a))
                return SOCK_BOUND_OWN;
        pa = policy_slice_address(n->slice, &a);
        if (!pa)
                return SOCK_BOUND_FOREIGN;
        if (pa->shared && port != 0 && (port < pa->port_lo || port > pa->port_hi))
                return SOCK_BOUND_FOREIGN;
        return SOCK_BOUND_OWN;
}

/* Everything here is read from our own duplicate of the target's socket, not
 * from its memory, so a decision based on it cannot be raced by the target.
 * getsockname() gives the domain too: two system calls for an INET socket. */
int sock_inspect(const notif *n, int sock, sock_info *ret)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        sock_info si = { .state = SOCK_OTHER };
        int v6only = 0, r;

        if (getsockname(sock, (struct sockaddr *) &ss, &len) < 0) {
                if (errno != EOPNOTSUPP)
                        return negative_errno(); /* ENOTSOCK for a file that is not a socket */
                /* A family without names (AF_ALG...): not ours to judge. */
                r = getsockopt_int(sock, SOL_SOCKET, SO_DOMAIN, &si.domain);
                if (r == 0)
                        *ret = si;
                return r;
        }
        si.domain = ss.ss_family;
        if (si.domain != AF_INET && si.domain != AF_INET6) {
                *ret = si;
                return 0;
        }
        r = getsockopt_int(sock, SOL_SOCKET, SO_TYPE, &si.type);
        if (r < 0)
                return r;
        if (si.domain == AF_INET6 && getsockopt_int(sock, IPPROTO_IPV6, IPV6_V6ONLY, &v6only) < 0)
                return negative_errno();
        si.v6only = v6only;
        si.state = sock_classify(n, si.type, &ss, len);
        *ret = si;
        return 0;
}

/* Our duplicate of the call's socket (argument 0) and what it is. On
 * failure the call is answered with the error and -1 returned. */
int notif_socket_get(notif *n, sock_info *si)
{
        int sock = target_fd_get(n, (int) n->req->data.args[0]);
        int r;

        if (sock < 0) {
                notify_reply_error(n, sock);
                return -1;
        }
        r = sock_inspect(n, sock, si);
        if (r < 0) {
                close(sock);
                notify_reply_error(n, r);
                return -1;
        }
        return sock;
}

/* Bind to a free port inside lo..hi. The kernel cannot pick it for us:
 * IP_LOCAL_PORT_RANGE (6.3) only narrows net.ipv4.ip_local_port_range and is
 * silently ignored outside it, where slice ranges usually lie. So walk the
 * range from a random start; in a mostly free range the first try binds. */
static int sock_bind_in_range(int sock, struct sockaddr_storage *ss, socklen_t len,
                              const policy_bind *b)
{
        static __thread uint32_t seed; /* per worker */
        uint32_t k, size = (uint32_t) (b->hi - b->lo) + 1;

        if (seed == 0 && getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
                seed = (uint32_t) getpid();
        seed = seed * 1664525u + 1013904223u;
        for (k = 0; k < size; k++) {
                uint16_t port = policy_port_candidate(b->lo, b->hi, seed, k);

                ((struct sockaddr_in *) ss)->sin_port = htons(port); /* same offset in sin6 */
                if (bind(sock, (struct sockaddr *) ss, len) == 0)
                        return 0;
                if (errno != EADDRINUSE)
                        return negative_errno();
        }
        return -EADDRINUSE;
}

/* Perform the bind the policy decided, on our duplicate of the socket, with
 * our privileges. Why this is safe: the address is the slice's own (or
 * loopback) and the port is one the policy gave the slice; the privilege
 * only lets a slice bind ports < 1024 on its own dedicated address, which is
 * exactly what §4 grants it. */
int sock_bind_decided(const notif *n, int sock, const sock_info *si, const policy_bind *b,
                      bool defer_port)
{
        struct sockaddr_storage ss;
        int len;

        int type = si->type;

        (void) n;
        len = uoa_sockaddr_encode(&b->addr, b->port, si->domain, &ss);
        if (len < 0)
                return len;
        /* The type matters only when we choose the port: ask for it then. */
        if (b->port == 0 && (b->hi != 0 || defer_port) && type == 0 &&
            getsockopt_int(sock, SOL_SOCKET, SO_TYPE, &type) < 0)
                return negative_errno();
        if (b->port == 0 && b->hi != 0 && type != SOCK_RAW) /* raw: no ports */
                return sock_bind_in_range(sock, &ss, (socklen_t) len, b);
        if (defer_port && b->port == 0 && type == SOCK_STREAM) {
                int one = 1;

                /* A connect that needs a source: let the port be chosen at
                 * connect time so the 4-tuple, not the port, must be unique. */
                (void) setsockopt(sock, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        }
        return bind(sock, (struct sockaddr *) &ss, (socklen_t) len) < 0 ? negative_errno() : 0;
}

/* Give an unbound socket the slice's source for dst (NULL: no destination,
 * the wildcard rule). Afterwards whatever destination the kernel reads from
 * the target's memory, this socket's source is the slice's; why continuing
 * is safe even if the fd number names another socket by then: notify_send.c. */
int sock_autobind(notif *n, int sock, const sock_info *si, const uoa_addr *dst)
{
        static const uoa_addr any4 = { .family = AF_INET }, any6 = { .family = AF_INET6 };
        uoa_addr hint;
        policy_bind b;
        int r;

        if (!dst) {
                r = policy_bind_decide(n->slice, si->domain, si->v6only,
                                       si->domain == AF_INET ? &any4 : &any6, 0,
                                       n->d->unpriv_port_start, &b);
                if (r < 0)
                        return r;
                return sock_bind_decided(n, sock, si, &b, false);
        }
        r = -ENOENT;
        if (n->d->rtnl_fd >= 0 && !uoa_addr_is_loopback(dst)) {
                const policy_address *p1 = policy_slice_primary(n->slice, dst->family);
                size_t i, count = 0;

                /* Ask the kernel's routing only when there is a choice. */
                for (i = 0; p1 && i < n->slice->n_addrs; i++)
                        count += n->slice->addrs[i].addr.family == dst->family;
                if (count > 1)
                        r = route_lookup_prefsrc(n->d->rtnl_fd, dst, n->l->uid, &hint);
        }
        r = policy_source_select(n->slice, dst, r == 0 ? &hint : NULL, &b);
        if (r < 0)
                return r;
        if (si->domain == AF_INET6 && si->v6only && b.addr.family == AF_INET)
                return -ENETUNREACH; /* as the kernel answers a v6only socket */
        return sock_bind_decided(n, sock, si, &b, true);
}

static void bind_refuse(notif *n, int negerrno, const uoa_addr *a, uint16_t port)
{
        char buf[UOA_ADDR_STRLEN];

        notify_refusal(n, "bind", negerrno, a ? uoa_addr_port_format(a, port, buf, sizeof(buf)) : NULL);
}

/* Decode what the process asked to bind, the way inet_bind/inet6_bind would. */
static int bind_request_decode(const sock_info *si, const struct sockaddr_storage *ss, size_t len,
                               uoa_addr *ret, uint16_t *ret_port)
{
        bool mapped = false;
        int r;

        if (len < sizeof(sa_family_t))
                return -EINVAL;
        if (si->domain == AF_INET && ss->ss_family == AF_UNSPEC && len >= sizeof(struct sockaddr_in) &&
            ((const struct sockaddr_in *) ss)->sin_addr.s_addr == htonl(INADDR_ANY)) {
                /* Linux accepts AF_UNSPEC with INADDR_ANY on AF_INET sockets. */
                *ret = (uoa_addr) { .family = AF_INET };
                *ret_port = ntohs(((const struct sockaddr_in *) ss)->sin_port);
                return 0;
        }
        if (ss->ss_family != si->domain)
                return -EAFNOSUPPORT;
        r = uoa_sockaddr_decode((const struct sockaddr *) ss, len, ret, ret_port, &mapped);
        if (r < 0)
                return r;
        return 0;
}

/* Whether a bind on a socket of a non-INET domain depends on who makes it:
 * a unix path (resolved in the caller's root and cwd, created with its ids
 * and umask), netlink multicast groups (capabilities), and any family we do
 * not know (vsock, bluetooth... check capabilities for some ports). A unix
 * abstract name or autobind, a netlink port id alone, and whatever the
 * kernel refuses for its form (family, length) check nothing of the caller. */
static bool bind_needs_caller(int domain, const struct sockaddr_storage *ss, size_t len)
{
        if (domain == AF_UNIX)
                return ss->ss_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) &&
                       ((const struct sockaddr_un *) ss)->sun_path[0] != '\0';
        if (domain == AF_NETLINK)
                return ss->ss_family == AF_NETLINK && len >= sizeof(struct sockaddr_nl) &&
                       ((const struct sockaddr_nl *) ss)->nl_groups != 0;
        return true;
}

/* bind on a socket that is not INET. Never CONTINUE: the kernel would look
 * the fd number up again, and another thread may have dup2-ed an INET socket
 * onto it by then (docs/design.md §5.2) with an address we never saw. So the bind is
 * made on our duplicate, the file we looked at, with our copy of the
 * address: by uoad itself where the outcome does not depend on who binds,
 * else by a thread in the caller's context (caller.c).
 * Why uoad's own bind is safe there: nothing of the caller is checked (see
 * bind_needs_caller) and the socket is the caller's own. One difference: a
 * netlink autobind (nl_pid 0) picks the port id starting from uoad's pid
 * rather than the caller's; it is unique either way, and clients read it
 * back with getsockname (glibc, libmnl, iproute2). */
static void bind_other(notif *n, int sock, int domain)
{
        struct sockaddr_storage ss;
        size_t len;
        int r;

        r = target_sockaddr_read(n, n->req->data.args[1], n->req->data.args[2], &ss, &len);
        if (r < 0)
                return notify_reply_error(n, r);
        if (bind_needs_caller(domain, &ss, len))
                return caller_act(n, sock, CALLER_BIND, &ss, len, 0); /* checks ID_VALID itself */
        if (!target_id_valid(n))
                return notify_reply_error(n, -ENOENT);
        r = bind(sock, (struct sockaddr *) &ss, (socklen_t) len);
        notify_reply_error(n, r < 0 ? negative_errno() : 0);
}

/* A wildcard request uoad bound itself: with BPF at hand the socket then
 * serves every address of the slice (engine_bpf_wild_mark). */
static void wild_steer(const notif *n, int sock, const uoa_addr *name6)
{
        int proto = 0;

        if (n->d->bpf && getsockopt_int(sock, SOL_SOCKET, SO_PROTOCOL, &proto) == 0 &&
            (proto == IPPROTO_TCP || proto == IPPROTO_UDP) &&
            engine_bpf_wild_mark(n->d->bpf, sock, n->slice->uid, proto == IPPROTO_UDP, name6) < 0)
                log_debug("slice %u: wildcard socket not steered: %m", n->slice->uid);
}

/* A dual-stack TCP `::` once steered: the kernel makes a socket bound to
 * an IPv6 address v6only, so it takes the primary IPv4 (v4-mapped) to serve
 * both families, as the kernel engine's bind6 does (not UDP: bound so, it
 * could not answer IPv6); *ret_name6 is what
 * getsockname then reports (the primary IPv6, NULL if none). */
static bool wild_dual_stack(const notif *n, int sock, const sock_info *si, const uoa_addr *a, uint16_t port,
                            policy_bind *b, const uoa_addr **ret_name6)
{
        static const uoa_addr any4 = { .family = AF_INET };
        const policy_address *p6 = policy_slice_primary(n->slice, AF_INET6);
        int proto = 0;

        if (!n->d->bpf || si->domain != AF_INET6 || si->v6only || a->family != AF_INET6 || !uoa_addr_is_any(a) ||
            !p6 || !policy_slice_primary(n->slice, AF_INET) ||
            getsockopt_int(sock, SOL_SOCKET, SO_PROTOCOL, &proto) < 0 || proto != IPPROTO_TCP ||
            policy_bind_decide(n->slice, AF_INET6, false, &any4, port, n->d->unpriv_port_start, b) < 0)
                return false;
        *ret_name6 = &p6->addr;
        return true;
}

void notify_bind(notif *n)
{
        _cleanup_close_ int sock = -1;
        const uoa_addr *name6 = NULL;
        struct sockaddr_storage ss;
        size_t len;
        sock_info si;
        policy_bind b;
        uoa_addr a;
        uint16_t port;
        int r;

        /* Only what the decision needs, from our duplicate: its domain (and
         * IPV6_V6ONLY); the type is asked only if we choose the port. Every
         * system call here costs about as much as the bind itself. */
        sock = target_fd_get(n, (int) n->req->data.args[0]);
        if (sock < 0)
                return notify_reply_error(n, sock);
        si = (sock_info) { .state = SOCK_OTHER };
        r = getsockopt_int(sock, SOL_SOCKET, SO_DOMAIN, &si.domain);
        if (r < 0)
                return notify_reply_error(n, r); /* ENOTSOCK */
        if (si.domain != AF_INET && si.domain != AF_INET6)
                return bind_other(n, sock, si.domain);
        if (si.domain == AF_INET6) {
                int v6only = 0;

                r = getsockopt_int(sock, IPPROTO_IPV6, IPV6_V6ONLY, &v6only);
                if (r < 0)
                        return notify_reply_error(n, r);
                si.v6only = v6only;
        }
        r = target_sockaddr_read(n, n->req->data.args[1], n->req->data.args[2], &ss, &len);
        if (r < 0)
                return notify_reply_error(n, r);
        if (!target_id_valid(n))
                return notify_reply_error(n, -ENOENT);
        r = bind_request_decode(&si, &ss, len, &a, &port);
        if (r < 0)
                return notify_reply_error(n, r);
        r = policy_bind_decide(n->slice, si.domain, si.v6only, &a, port, n->d->unpriv_port_start, &b);
        if (r < 0)
                return bind_refuse(n, r, &a, port);
        (void) wild_dual_stack(n, sock, &si, &a, port, &b, &name6);
        r = sock_bind_decided(n, sock, &si, &b, false);
        if (r == 0 && uoa_addr_is_any(&a))
                wild_steer(n, sock, name6);
        notify_reply_error(n, r);
}

/* listen, performed by uoad on its duplicate and answered with the result,
 * never CONTINUE: the kernel would look the number up again, and an unbound
 * INET socket dup2-ed there meanwhile would listen on the real wildcard.
 * An unbound stream socket (TCP, MPTCP; SCTP's one-to-many is SEQPACKET)
 * would be auto-bound to the wildcard: give it the slice's address first.
 * Why uoad's own listen is safe on an INET socket: the socket is bound to
 * the slice's address (or loopback), and TCP's listen records nothing of
 * who calls it. A non-INET socket is listened on in the caller's context
 * (caller.c): a unix listener records its creator's credentials, which
 * clients read with SO_PEERCRED, and they must be the caller's, not root's. */
void notify_listen(notif *n)
{
        _cleanup_close_ int sock = -1;
        int backlog = (int) (uint32_t) n->req->data.args[1]; /* an int: the kernel ignores the upper half */
        sock_info si;
        int r;

        sock = notif_socket_get(n, &si);
        if (sock < 0)
                return;
        if (si.state == SOCK_OTHER)
                return caller_act(n, sock, CALLER_LISTEN, NULL, 0, backlog);
        if (si.state == SOCK_BOUND_FOREIGN)
                return notify_refusal(n, "listen", -EADDRNOTAVAIL, "on a socket bound outside the slice");
        if (si.state == SOCK_UNBOUND && (si.type == SOCK_STREAM || si.type == SOCK_SEQPACKET)) {
                r = sock_autobind(n, sock, &si, NULL);
                if (r < 0)
                        return notify_refusal(n, "listen", r, "(no address to bind)");
                wild_steer(n, sock, NULL); /* an unbound listener is a wildcard one on an ordinary host */
        }
        r = listen(sock, backlog);
        notify_reply_error(n, r < 0 ? negative_errno() : 0);
}
