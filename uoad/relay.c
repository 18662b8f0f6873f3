/* uoad/relay.c: uoad's rtnetlink relay. Each proxied netlink
 * socket of a slice process is a client with three fds: the control
 * connection (requests, answered in order), the data socket (our end of the
 * pair whose other end the process reads like a netlink socket), and a
 * NETLINK_ROUTE socket of ours that executes sanitized requests with uoad's
 * privilege. Everything is non-blocking and driven by the epoll loop: a
 * client that does not read its replies stalls only itself. */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/list.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/wire.h"
#include "netlink-proxy/nlproxy.h"
#include "uoad/guard.h"
#include "uoad/holder.h"
#include "uoad/relay.h"
#include "uoad/rtnl.h"
#include "uoad/stats.h"
#include "uoad/uoad.h"

#define NLCLIENT_PER_UID_MAX 64 /* proxied netlink sockets one slice may hold */
#define KERNEL_BATCHES_PER_EVENT 8 /* dump batches relayed before yielding */
#define DGRAM_MAX 65536u
#define _aligned_ __attribute__((aligned(8))) /* netlink headers are read in place */

typedef struct nlclient nlclient;

typedef struct nlwatch {
        watch_kind kind; /* WATCH_NL_CTL, WATCH_NL_DATA, WATCH_NL_KERNEL */
        nlclient *c;
} nlwatch;

struct nlclient {
        nlwatch ctl_w, data_w, kern_w;
        int ctl_fd, data_fd, kern_fd;
        uid_t uid;
        uint32_t portid, kern_portid;
        bool ext_ack, cap_ack;
        /* One datagram the data socket would not take yet; while it waits
         * we stop reading the kernel socket (backpressure). */
        char *pending;
        size_t pending_len;
        bool dead; /* closed; freed by relay_reap() after this epoll batch */
        nlclient *prev, *next;
};

static void client_hold(uoad *d, const nlclient *c);

static uint64_t now_ms_coarse(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static size_t clients_of_uid(nlclient *clients, uid_t uid)
{
        size_t n = 0;

        LIST_FOREACH(c, clients)
                n += c->uid == uid;
        return n;
}

static int ifname_of(int ifindex, char *name, void *userdata)
{
        (void) userdata;
        return if_indextoname((unsigned) ifindex, name) ? 0 : -ENODEV;
}

/* The slice as it is now: the policy may have changed since the client came. */
static nl_view view_of(const uoad *d, const nlclient *c)
{
        static const policy_slice none;
        const policy_slice *s = policy_slice_find(d->policy, c->uid);

        if (!s)
                s = &none;
        return (nl_view) { .slice = s, .table = s->table ? s->table : RT_TABLE_MAIN, .may_write = s->table != 0,
                           .uid = c->uid, .ifname_of = ifname_of };
}

static void epoll_set(const uoad *d, int fd, nlwatch *w, uint32_t events)
{
        struct epoll_event ev = { .events = events, .data.ptr = w };

        epoll_ctl(d->epoll_fd, EPOLL_CTL_MOD, fd, &ev);
}

static void client_free(uoad *d, nlclient *c)
{
        LIST_REMOVE(d->relay.clients, c);
        holder_del(d, (unsigned) c->ctl_fd);
        fd_unwatch_close(d->epoll_fd, c->ctl_fd);
        fd_unwatch_close(d->epoll_fd, c->data_fd);
        fd_unwatch_close(d->epoll_fd, c->kern_fd);
        free(c->pending);
        c->pending = NULL;
        c->dead = true;
        c->next = d->relay.graveyard;
        d->relay.graveyard = c;
}

void relay_reap(uoad *d)
{
        while (d->relay.graveyard) {
                nlclient *c = d->relay.graveyard;

                d->relay.graveyard = c->next;
                free(c);
        }
}

/* Queue one datagram for the client. Returns false if it had to be kept
 * pending (the client is not reading); the kernel socket then waits. */
static bool client_deliver(uoad *d, nlclient *c, const void *buf, size_t len)
{
        if (!c->pending && send(c->data_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t) len)
                return true;
        if (!c->pending) {
                c->pending = malloc(len);
                if (!c->pending)
                        return true; /* dropped, as a kernel socket drops on ENOBUFS */
                memcpy(c->pending, buf, len);
                c->pending_len = len;
        }
        epoll_set(d, c->kern_fd, &c->kern_w, 0);
        epoll_set(d, c->data_fd, &c->data_w, EPOLLOUT);
        return false;
}

/* Relay what the kernel has for this client, a bounded number of batches
 * (a dump continues on the next event: the socket stays readable). */
static void client_drain_kernel(uoad *d, nlclient *c, unsigned max_batches)
{
        static char in[DGRAM_MAX] _aligned_, out[DGRAM_MAX] _aligned_;
        nl_view v = view_of(d, c);

        for (unsigned i = 0; i < max_batches && !c->pending; i++) {
                ssize_t n = recv(c->kern_fd, in, sizeof(in), MSG_DONTWAIT);
                size_t m;

                if (n < 0) {
                        if (errno == ENOBUFS)
                                log_warn("slice %u: netlink notifications overran; some were lost", c->uid);
                        return;
                }
                m = nlrw_datagram(&v, c->kern_portid, c->portid, in, (size_t) n, out, sizeof(out));
                if (m > 0 && !client_deliver(d, c, out, m))
                        return;
        }
}

/* A dump request: a GET (rtnetlink's GET types are 2 mod 4) with a dump
 * flag. The flags alone do not say it: NLM_F_EXCL of a NEWROUTE is the same
 * bit as NLM_F_MATCH. */
static bool is_dump(const struct nlmsghdr *nlh)
{
        return nlh->nlmsg_type >= RTM_BASE && (nlh->nlmsg_type & 3) == 2 && (nlh->nlmsg_flags & NLM_F_DUMP);
}

/* A delete the kernel may match to uoad's throw route (nlsan: guard_check),
 * run on a socket of our own so that its outcome is known before the client
 * is answered. If the throw route went with it, it is put back at once (in
 * between, lookups in the table fell through as they do with it), and the
 * slice, which cannot see that route, is told what the kernel says when no
 * route matches: ESRCH. Earlier answers of the datagram are relayed first,
 * to keep their order. Returns the answer's length (0: none wanted). */
static size_t client_guarded_delete(uoad *d, nlclient *c, const nl_view *v, const struct nlmsghdr *req,
                                    struct nlmsghdr *out, void *reply, size_t cap)
{
        int family = ((const struct rtmsg *) mnl_nlmsg_get_payload(out))->rtm_family;
        _cleanup_close_ int fd = rtnl_open();
        int r = fd < 0 ? fd : rtnl_talk(fd, out), restored;

        if (r == 0) {
                restored = guard_throw_restore(fd, family, v->table);
                if (restored > 0) {
                        r = -ESRCH;
                        if (stats_log_allowed(d, c->uid, now_ms_coarse()))
                                log_info("slice %u: a route delete took uoad's throw route of table %u; put back",
                                         c->uid, v->table);
                } else if (restored < 0)
                        log_warn("slice %u: cannot put back the throw route of table %u: %s", c->uid,
                                 v->table, strerror(-restored));
        }
        client_drain_kernel(d, c, KERNEL_BATCHES_PER_EVENT);
        if (r == 0 && !(req->nlmsg_flags & NLM_F_ACK))
                return 0;
        return nlsan_error_build(req, r, NULL, c->cap_ack, false, c->portid, reply, cap);
}

/* Execute one datagram of requests. Refusals are answered in the kernel's
 * format; what passes is sent to our kernel socket, which answers at once
 * (the kernel processes rtnetlink requests inside sendmsg). */
static void client_request(uoad *d, nlclient *c, const char *buf, size_t len)
{
        static char out[NLPROXY_REQUEST_MAX + 512] _aligned_, reply[NLPROXY_REQUEST_MAX + 512] _aligned_;
        nl_view v = view_of(d, c);
        size_t off = 0;

        /* Not mnl_nlmsg_ok()/next(): libmnl 1.0.4 compares (int) nlmsg_len,
         * and a length near 2^32 would make its walk loop forever. */
        while (len - off >= NLMSG_HDRLEN) {
                const struct nlmsghdr *nlh = (const struct nlmsghdr *) (buf + off);
                nlsan_verdict vd;
                size_t m = 0;

                if (nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len - off)
                        break;
                if (nlsan_request(&v, nlh, len - off, (struct nlmsghdr *) out, sizeof(out), &vd) == 0) {
                        stats_count(d, c->uid, CALL_NETLINK, vd.action == NLSAN_REFUSE);
                        if (vd.action == NLSAN_FORWARD && vd.guard_check) {
                                m = client_guarded_delete(d, c, &v, nlh, (struct nlmsghdr *) out, reply,
                                                          sizeof(reply));
                        } else if (vd.action == NLSAN_FORWARD) {
                                if (send(c->kern_fd, out, ((struct nlmsghdr *) out)->nlmsg_len, 0) < 0)
                                        m = nlsan_error_build(nlh, negative_errno(), NULL, c->cap_ack,
                                                              false, c->portid, reply, sizeof(reply));
                        } else if (vd.action == NLSAN_EMPTY_DUMP)
                                m = nlsan_done_build(nlh, c->portid, reply, sizeof(reply));
                        else if (is_dump(nlh)) {
                                m = nlsan_dump_error_build(nlh, vd.error, vd.msg, c->ext_ack, c->portid, reply,
                                                           sizeof(reply));
                        } else {
                                /* No message: an answer the kernel gives itself
                                 * (a hidden link is one that does not exist). */
                                m = nlsan_error_build(nlh, vd.error, vd.msg[0] ? vd.msg : NULL, c->cap_ack,
                                                      c->ext_ack, c->portid, reply, sizeof(reply));
                        }
                        if (vd.action == NLSAN_REFUSE && vd.msg[0]) {
                                if (stats_log_allowed(d, c->uid, now_ms_coarse()))
                                        log_info("slice %u: netlink request type %u refused: %s", c->uid,
                                                 nlh->nlmsg_type, vd.msg);
                        }
                        if (m > 0)
                                client_deliver(d, c, reply, m);
                }
                off += NLMSG_ALIGN(nlh->nlmsg_len) < len - off ? NLMSG_ALIGN(nlh->nlmsg_len) : len - off;
        }
        client_drain_kernel(d, c, KERNEL_BATCHES_PER_EVENT);
}

/* SOL_NETLINK options: applied to our kernel socket (so its acks take the
 * client's format and it joins the client's groups). Joining rtnetlink
 * groups needs no privilege: the kernel lets any user listen. */
static int client_sockopt(uoad *d, nlclient *c, uint32_t opt, uint32_t value)
{
        int v = (int) value;

        switch (opt) {
        case NETLINK_EXT_ACK: c->ext_ack = v != 0; break;
        case NETLINK_CAP_ACK: c->cap_ack = v != 0; break;
        case NETLINK_GET_STRICT_CHK:
        case NETLINK_NO_ENOBUFS:
        case NETLINK_ADD_MEMBERSHIP:
        case NETLINK_DROP_MEMBERSHIP: break;
        default: return -ENOPROTOOPT;
        }
        if (setsockopt(c->kern_fd, SOL_NETLINK, (int) opt, &v, sizeof(v)) < 0)
                return negative_errno();
        if (opt == NETLINK_EXT_ACK || opt == NETLINK_CAP_ACK)
                client_hold(d, c); /* what a restarted uoad must know */
        return 0;
}

static int client_groups(nlclient *c, uint32_t groups)
{
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = c->kern_portid, .nl_groups = groups };

        return bind(c->kern_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ? negative_errno() : 0;
}

static void client_control(uoad *d, nlclient *c)
{
        /* Received 3 bytes in, so the netlink data after the type byte
         * starts 4-aligned. */
        static char raw[NLPROXY_REQUEST_MAX + 16] _aligned_;
        char *buf = raw + 3;
        int32_t answer = -EINVAL;
        uint32_t a, b;
        ssize_t n;

        n = recv(c->ctl_fd, buf, sizeof(raw) - 3, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0)
                return client_free(d, c);
        if ((size_t) n > sizeof(raw) - 3)
                answer = -EMSGSIZE;
        else if (buf[0] == WIRE_NL_REQUEST) {
                client_request(d, c, buf + 1, (size_t) n - 1);
                answer = (int32_t) (n - 1);
        } else if (buf[0] == WIRE_NL_SOCKOPT && n == 9) {
                memcpy(&a, buf + 1, 4);
                memcpy(&b, buf + 5, 4);
                answer = client_sockopt(d, c, a, b);
        } else if (buf[0] == WIRE_NL_GROUPS && n == 5) {
                memcpy(&a, buf + 1, 4);
                answer = client_groups(c, a);
        }
        /* A client that does not read its answers costs only itself. */
        if (send(c->ctl_fd, &answer, sizeof(answer), MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
                client_free(d, c);
}

void relay_event(uoad *d, void *watch, uint32_t events)
{
        nlwatch *w = watch;
        nlclient *c = w->c;
        static char buf[NLPROXY_REQUEST_MAX] _aligned_;
        ssize_t n;

        if (c->dead)
                return;
        if (w->kind == WATCH_NL_CTL) {
                if (events & EPOLLIN)
                        return client_control(d, c);
                return client_free(d, c);
        }
        if (w->kind == WATCH_NL_KERNEL)
                return client_drain_kernel(d, c, KERNEL_BATCHES_PER_EVENT);
        if (events & (EPOLLHUP | EPOLLERR))
                return client_free(d, c);
        if ((events & EPOLLOUT) && c->pending) {
                if (send(c->data_fd, c->pending, c->pending_len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                        return;
                free(c->pending);
                c->pending = NULL;
                epoll_set(d, c->data_fd, &c->data_w, EPOLLIN);
                epoll_set(d, c->kern_fd, &c->kern_w, EPOLLIN);
        }
        if (events & EPOLLIN) {
                /* A request written straight on the data socket (write()):
                 * executed like one on the control connection, unanswered. */
                n = recv(c->data_fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n > 0)
                        client_request(d, c, buf, (size_t) n);
                else if (n == 0)
                        client_free(d, c);
        }
}

static int watch_add(uoad *d, int fd, nlwatch *w, nlclient *c, watch_kind kind)
{
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

        *w = (nlwatch) { .kind = kind, .c = c };
        return epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? negative_errno() : 0;
}

/* Give the holder (holder.c) a copy of the client's fds and its state. */
static void client_hold(uoad *d, const nlclient *c)
{
        int fds[3] = { c->ctl_fd, c->data_fd, c->kern_fd };
        char text[96];

        snprintf(text, sizeof(text), "nlclient %u %u %u %d %d", (unsigned) c->uid, c->portid, c->kern_portid,
                 c->ext_ack, c->cap_ack);
        holder_add(d, (unsigned) c->ctl_fd, text, fds, 3);
}

/* Watch the client's three fds and put it on the list. */
static void client_link(uoad *d, nlclient *c)
{
        watch_add(d, c->ctl_fd, &c->ctl_w, c, WATCH_NL_CTL);
        watch_add(d, c->data_fd, &c->data_w, c, WATCH_NL_DATA);
        watch_add(d, c->kern_fd, &c->kern_w, c, WATCH_NL_KERNEL);
        LIST_PREPEND(d->relay.clients, c);
        client_hold(d, c);
}

/* Send "ok PORTID\n" with the client's end of the data socket. */
static int send_data_fd(int ctl_fd, uint32_t portid, int fd)
{
        char text[32], cbuf[CMSG_SPACE(sizeof(int))] = {};
        struct iovec iov = { .iov_base = text };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                             .msg_controllen = sizeof(cbuf) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        iov.iov_len = (size_t) snprintf(text, sizeof(text), "ok %u\n", portid);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        return sendmsg(ctl_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

/* The "netlink" request: the connection ctl_fd (now ours) becomes a client.
 * Why giving a slice this channel is safe: every request is sanitized
 * against the slice's policy before our privileged socket sees it, and
 * every reply is filtered to the slice's table. Returns 0, or -errno with
 * ctl_fd still the caller's. */
int relay_client_add(uoad *d, int ctl_fd, uid_t uid)
{
        _cleanup_close_ int kern = -1, mine = -1, theirs = -1;
        int pair[2], r;
        nlclient *c;

        if (!policy_slice_find(d->policy, uid))
                return -ENOENT;
        if (clients_of_uid(d->relay.clients, uid) >= NLCLIENT_PER_UID_MAX)
                return -EMFILE;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
                return negative_errno();
        mine = pair[0];
        theirs = pair[1];
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        kern = rtnl_socket_open(SOCK_NONBLOCK, 0, &c->kern_portid);
        r = kern < 0 ? kern : send_data_fd(ctl_fd, d->relay.next_portid, theirs);
        if (r < 0) {
                free(c);
                return r;
        }
        c->ctl_fd = ctl_fd;
        c->data_fd = TAKE_FD(mine);
        c->kern_fd = TAKE_FD(kern);
        c->uid = uid;
        c->portid = d->relay.next_portid++;
        client_link(d, c);
        return 0;
}

/* The handover to a re-executed uoad: every client as its fds and state. */
void relay_clients_each(uoad *d, void (*f)(const relay_saved *c, void *userdata), void *userdata)
{
        LIST_FOREACH(c, d->relay.clients) {
                relay_saved s = { .ctl_fd = c->ctl_fd, .data_fd = c->data_fd, .kern_fd = c->kern_fd, .uid = c->uid,
                                  .portid = c->portid, .kern_portid = c->kern_portid, .ext_ack = c->ext_ack,
                                  .cap_ack = c->cap_ack, .pending = c->pending, .pending_len = c->pending_len };

                f(&s, userdata);
        }
}

uint32_t relay_next_portid(const uoad *d)
{
        return d->relay.next_portid;
}

/* A client handed over by the uoad we re-executed from: its three fds are
 * ours now, its datagram still undelivered (if any) is delivered first. */
int relay_client_adopt(uoad *d, const relay_saved *s, uint32_t next)
{
        nlclient *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        *c = (nlclient) { .ctl_fd = s->ctl_fd, .data_fd = s->data_fd, .kern_fd = s->kern_fd, .uid = s->uid,
                          .portid = s->portid, .kern_portid = s->kern_portid, .ext_ack = s->ext_ack,
                          .cap_ack = s->cap_ack };
        if (next > d->relay.next_portid)
                d->relay.next_portid = next;
        client_link(d, c);
        if (s->pending_len)
                client_deliver(d, c, s->pending, s->pending_len);
        return 0;
}

void relay_shutdown(uoad *d)
{
        while (d->relay.clients)
                client_free(d, d->relay.clients);
        relay_reap(d);
}
