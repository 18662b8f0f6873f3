/* libuoa-preload/preload.h: what the shim's files share (never exported:
 * the version script keeps everything but the interposed symbols local).
 *
 * The rtnetlink emulation (netlink.c, nl_io.c, nl_sockopt.c): a
 * socket(AF_NETLINK, SOCK_RAW or SOCK_DGRAM, NETLINK_ROUTE) becomes the data
 * end of uoad's proxy (common/wire.h, "netlink"); the calls a netlink client
 * makes on it are answered here as the kernel would answer them. */
#pragma once

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* fds at or above this are never proxied: socket() falls back to the kernel. */
#define NL_FD_MAX 4096
#define NL_GROUP_WORDS 4 /* 128 multicast groups; rtnetlink has ~40 */
#define NL_SOCKADDR_LEN 12 /* sizeof(struct sockaddr_nl), what the kernel reports */

typedef struct nlsock {
        pthread_mutex_t lock;   /* one control request and its answer at a time */
        pthread_mutex_t state;  /* options and groups (never held across a call) */
        atomic_int refs;        /* the table's reference + one per call in progress */
        int ctl;                /* the control connection to uoad (CLOEXEC, hidden) */
        dev_t data_dev, ctl_dev; /* what the fds were when we made them: an fd */
        ino_t data_ino, ctl_ino; /* closed behind our back is then noticed */
        uint32_t portid;        /* uoad's, what getsockname reports */
        int type;               /* SOCK_RAW or SOCK_DGRAM, for SO_TYPE */
        uint32_t options;       /* bit N: SOL_NETLINK boolean option N is on */
        bool groups_alloc;      /* the kernel's nlk->groups exists (LIST_MEMBERSHIPS) */
        uint32_t groups[NL_GROUP_WORDS]; /* bit g-1: member of group g */
} nlsock;

extern _Atomic(nlsock *) uoa_nl_table[NL_FD_MAX];

/* The pass-through test: one array load. */
static inline bool nl_maybe(int fd)
{
        return (unsigned) fd < NL_FD_MAX &&
               atomic_load_explicit(&uoa_nl_table[fd], memory_order_acquire) != NULL;
}

/* The libc functions the shim stands in front of (RTLD_NEXT), resolved once. */
typedef struct uoa_real {
        int (*socket)(int, int, int);
        int (*close)(int);
        ssize_t (*send)(int, const void *, size_t, int);
        ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
        ssize_t (*sendmsg)(int, const struct msghdr *, int);
        int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
        ssize_t (*recv)(int, void *, size_t, int);
        ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
        ssize_t (*recvmsg)(int, struct msghdr *, int);
        int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
        ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
        ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
        int (*getsockname)(int, struct sockaddr *, socklen_t *);
        int (*getpeername)(int, struct sockaddr *, socklen_t *);
        int (*setsockopt)(int, int, int, const void *, socklen_t);
        int (*getsockopt)(int, int, int, void *, socklen_t *);
} uoa_real;

extern uoa_real uoa_real_fn;
void uoa_real_init(void);
#define REAL(name) (uoa_real_init(), uoa_real_fn.name)

/* preload.c */
bool uoa_debug_enabled(void);
void uoa_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
ssize_t uoa_sendto_inet(int fd, const void *buf, size_t len, int flags, const struct sockaddr *sa,
                        socklen_t salen);

/* netlink.c: a reference to fd's state, or NULL (not proxied, or the fd no
 * longer is the socket we made: the stale state is then dropped). */
nlsock *nl_get(int fd);
#define NL_GET(fd) (nl_maybe(fd) ? nl_get(fd) : NULL)
void nl_put(nlsock *s);
/* One control message and its int32 answer: >= 0, or -errno. */
int32_t nl_call(nlsock *s, const void *msg, size_t len);

/* nl_sockopt.c: bind() and connect() on a proxied fd (preload.c dispatches). */
int nl_bind(nlsock *s, const struct sockaddr *sa, socklen_t len);
int nl_connect(nlsock *s, const struct sockaddr *sa, socklen_t len);

/* Set errno from a -errno result, return -1; pass anything else through. */
static inline int nl_ret(int r)
{
        if (r < 0) {
                errno = -r;
                return -1;
        }
        return r;
}
