/* uoad/notify_socket.c: socket(AF_INET or AF_INET6, SOCK_RAW, ...) for
 * slices granted `raw`. The kernel would refuse an unprivileged caller, so
 * uoad creates the socket and injects it into the caller (ADDFD). */
#include <errno.h>
#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/macro.h"
#include "uoad/notify.h"
#include "uoad/notify_socket.h"
#include "uoad/uoad.h"

/* Why handing out this privileged socket is safe:
 *  - it is created with the slice's fsuid, so the socket and its file belong
 *    to the slice: uid routing sends it through the slice's table and the
 *    kernel guard (meta skuid) drops any packet whose source is not the
 *    slice's, IP_HDRINCL and IPPROTO_RAW packets included;
 *  - it is bound to the slice's primary address, so it receives only
 *    packets addressed to the slice (a later bind() is trapped and decided
 *    by the policy like any other);
 *  - the caller gets nothing else of ours: ADDFD installs only this file.
 * Changing fsuid (not euid) keeps CAP_NET_RAW, which is not a file-system
 * capability. fsuid is per thread (the kernel's credentials are, and glibc's
 * setfsuid() is the bare system call, unlike its set*id() wrappers), so only
 * the serving worker's own thread carries the slice's fsuid, for these two calls;
 * caller.c's threads have their own credentials. */
static int raw_socket_create(const notif *n, int domain, int type, int protocol)
{
        const policy_address *pa = policy_slice_primary(n->slice, domain);
        struct sockaddr_storage ss;
        int fd, len;

        if (!pa)
                return -EADDRNOTAVAIL;
        setfsuid(n->l->uid);
        fd = socket(domain, SOCK_RAW | SOCK_CLOEXEC | (type & SOCK_NONBLOCK), protocol);
        setfsuid(0);
        if (fd < 0)
                return negative_errno();
        len = uoa_sockaddr_encode(&pa->addr, 0, domain, &ss);
        if (len < 0 || bind(fd, (struct sockaddr *) &ss, (socklen_t) len) < 0) {
                int r = len < 0 ? len : negative_errno();

                close(fd);
                return r;
        }
        return fd;
}

void notify_socket(notif *n)
{
        int domain = (int) n->req->data.args[0], type = (int) n->req->data.args[1];
        int protocol = (int) n->req->data.args[2];
        _cleanup_close_ int fd = -1;
        struct seccomp_notif_addfd addfd = { .id = n->req->id, .flags = SECCOMP_ADDFD_FLAG_SEND };
        int r;

        /* The filter traps only AF_INET/AF_INET6 with type SOCK_RAW. */
        if (!n->slice->raw)
                return notify_refusal(n, "socket", -EPERM, "SOCK_RAW (the slice has no raw grant)");
        fd = raw_socket_create(n, domain, type, protocol);
        if (fd < 0)
                return notify_refusal(n, "socket", fd, "SOCK_RAW (no address of that family)");
        addfd.srcfd = (uint32_t) fd;
        addfd.newfd_flags = type & SOCK_CLOEXEC ? O_CLOEXEC : 0;
        /* ADDFD with FLAG_SEND installs the fd and answers the call with its
         * number in one step (5.14), so no other thread can see a gap. */
        r = ioctl(n->l->fd, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
        if (r >= 0 || errno == ENOENT) {
                n->answered = true;
                return;
        }
        notify_reply_error(n, negative_errno());
}
