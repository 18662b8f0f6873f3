/* uoad/engine_bpf.c: the kernel engine's loader. Loads bpf/uoa.bpf.c
 * (skeleton generated at build time), fills its maps from the policy, and
 * attaches its programs to the cgroup2 root through links pinned under
 * bpffs, one directory per network namespace, so that they stay in force
 * when uoad dies (docs/design.md §5.3) and a restarted uoad takes them over.
 *
 * Order matters for fail-closed: maps are filled before a program is
 * attached, and a pinned link from an earlier uoad is switched to the new
 * program in one step (BPF_LINK_UPDATE), so there is never a moment when an
 * empty map would let a slice bind anything. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <arpa/inet.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/uoa_bpf.h"
#include "common/log.h"
#include "common/macro.h"
#include "uoa.skel.h"
#include "uoad/engine_bpf.h"
#include "uoad/notify.h"
#include "uoad/stats.h"
#include "uoad/uoad.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14 */
#endif
#define UOA_BPFFS "/run/uoa/bpf"
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* The programs and where each attaches: the cgroup2 root, but sk_lookup to
 * our network namespace. The names are their pins'. */
enum {
        HOOK_BIND4,
        HOOK_BIND6,
        HOOK_CONNECT4,
        HOOK_CONNECT6,
        HOOK_SENDMSG4,
        HOOK_SENDMSG6,
        HOOK_RECVMSG4,
        HOOK_RECVMSG6,
        HOOK_GETPEERNAME4,
        HOOK_GETPEERNAME6,
        HOOK_GETSOCKNAME6,
        HOOK_POST_BIND4,
        HOOK_POST_BIND6,
        HOOK_SOCKOPS,
        HOOK_LOOKUP,
        _HOOK_MAX
};
static const char *const hook_name[_HOOK_MAX] = {
        "bind4",        "bind6",        "connect4",   "connect6",   "sendmsg4", "sendmsg6", "recvmsg4",
        "recvmsg6",     "getpeername4", "getpeername6", "getsockname6", "post_bind4", "post_bind6", "sockops", "sk_lookup"
};

struct engine_bpf {
        watch_kind kind; /* WATCH_BPF_EVENTS: e is its own epoll watch */
        struct uoa_bpf *skel;
        struct ring_buffer *events;
        struct bpf_link *links[_HOOK_MAX];
        struct bpf_link *wild_udp; /* the iterator that enters UDP wildcard sockets */
        bool enforce;              /* false: --engine seccomp, the programs only steer */
        bool wild_pending;         /* a UDP wildcard socket was bound: run wild_udp */
        uoad *d;                   /* whose counters event_handle() adds to (engine_bpf_events()) */
        uint64_t cookie;
        char cgroup[PATH_MAX];
        char pin_dir[PATH_MAX];
};

static struct bpf_program *hook_prog(struct uoa_bpf *s, int h)
{
        struct bpf_program *p[_HOOK_MAX] = {
                s->progs.uoa_bind4,        s->progs.uoa_bind6,        s->progs.uoa_connect4,
                s->progs.uoa_connect6,     s->progs.uoa_sendmsg4,     s->progs.uoa_sendmsg6,
                s->progs.uoa_recvmsg4,     s->progs.uoa_recvmsg6,     s->progs.uoa_getpeername4,
                s->progs.uoa_getpeername6, s->progs.uoa_getsockname6, s->progs.uoa_post_bind4,
                s->progs.uoa_post_bind6,
                s->progs.uoa_sockops,      s->progs.uoa_lookup,
        };
        return p[h];
}

/* libbpf's messages go to our log: warnings (a verifier refusal) at info,
 * the rest only with -v. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
        char buf[512];

        if (level == LIBBPF_DEBUG)
                return 0;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        buf[strcspn(buf, "\n")] = '\0';
        if (level == LIBBPF_WARN)
                log_info("libbpf: %s", buf);
        else
                log_debug("libbpf: %s", buf);
        return 0;
}

static int netns_cookie(uint64_t *ret)
{
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        socklen_t len = sizeof(*ret);

        if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, ret, &len) < 0)
                return negative_errno();
        return 0;
}

/* The root of the cgroup2 hierarchy, as mounted in our mount namespace. */
static int cgroup2_find(char *ret, size_t len)
{
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096], root[1024], mnt[1024];
        int r = -ENOENT;

        while (f && r < 0 && fgets(line, sizeof(line), f))
                if (strstr(line, " - cgroup2 ") && sscanf(line, "%*s %*s %*s %1023s %1023s", root, mnt) == 2 &&
                    strcmp(root, "/") == 0 && snprintf(ret, len, "%s", mnt) < (int) len)
                        r = 0;
        if (f)
                fclose(f);
        return r;
}

/* `ip netns exec` remounts /sys and hides the host's cgroup2 mount: then a
 * child mounts cgroup2 in a private mount namespace of its own (no one else
 * sees it) and hands us the directory; the fd keeps that mount alive. */
static int cgroup2_open_private(void)
{
        char byte = 'c';
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        char cbuf[CMSG_SPACE(sizeof(int))] = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
        struct cmsghdr *c;
        int sv[2], fd = -1, st;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
                return negative_errno();
        pid = fork();
        if (pid == 0) {
                close(sv[0]);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("cgroup2", "/tmp", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
                    (fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                        _exit(1);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
                _exit(sendmsg(sv[1], &mh, 0) == 1 ? 0 : 1);
        }
        close(sv[1]);
        if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
            recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) == 1 && (c = CMSG_FIRSTHDR(&mh)) &&
            c->cmsg_type == SCM_RIGHTS)
                memcpy(&fd, CMSG_DATA(c), sizeof(int));
        close(sv[0]);
        return fd >= 0 ? fd : -ENOENT;
}

static int cgroup2_open(engine_bpf *e)
{
        int fd;

        if (cgroup2_find(e->cgroup, sizeof(e->cgroup)) == 0 &&
            (fd = open(e->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
                return fd;
        snprintf(e->cgroup, sizeof(e->cgroup), "the cgroup2 root (mounted privately)");
        return cgroup2_open_private();
}

static bool is_bpffs(const char *path)
{
        struct statfs st;

        return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* Where the pins live: a bpf file system every uoad of the host sees and
 * that outlives any one of them. /sys/fs/bpf where systemd mounted it; but
 * `ip netns exec` hides /sys, so the host may mount one at /run/uoa/bpf
 * before starting uoads in namespaces (they inherit a copy of the mount, the
 * same file system). Failing both, we mount /run/uoa/bpf: shared with the
 * host only if we are in its mount namespace, hence the warning. */
static int bpffs_find(char *ret, size_t len)
{
        static const char *const where[] = { "/sys/fs/bpf", UOA_BPFFS };

        for (size_t i = 0; i < ELEMENTSOF(where); i++)
                if (is_bpffs(where[i])) {
                        snprintf(ret, len, "%s", where[i]);
                        return 0;
                }
        (void) mkdir("/run/uoa", 0755);
        (void) mkdir(UOA_BPFFS, 0700);
        if (mount("bpf", UOA_BPFFS, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
                return negative_errno();
        log_warn("mounted a bpf file system at %s; if this mount namespace is private (ip netns exec), "
                 "the kernel engine goes when uoad does: mount it on the host first", UOA_BPFFS);
        snprintf(ret, len, "%s", UOA_BPFFS);
        return 0;
}

/* <bpffs>/uoa/<netns cookie>: one directory per network namespace served. */
static int pin_dir_make(engine_bpf *e, char *err, size_t errlen)
{
        char base[PATH_MAX - 64];
        int n;

        if (bpffs_find(base, sizeof(base)) < 0) {
                snprintf(err, errlen, "no bpf file system at /sys/fs/bpf or %s, and none could be mounted", UOA_BPFFS);
                return -ENOENT;
        }
        n = snprintf(e->pin_dir, sizeof(e->pin_dir), "%s/uoa", base);
        if (mkdir(e->pin_dir, 0700) < 0 && errno != EEXIST)
                goto fail;
        snprintf(e->pin_dir + n, sizeof(e->pin_dir) - (size_t) n, "/%016llx", (unsigned long long) e->cookie);
        if (mkdir(e->pin_dir, 0700) < 0 && errno != EEXIST)
                goto fail;
        return 0;
fail:
        snprintf(err, errlen, "cannot create %s: %m", e->pin_dir);
        return negative_errno();
}

/* The maps' writes, batched: bpf_map_update_batch() (5.6) takes thousands
 * of entries a call, where one syscall per entry made 100 000 slices cost
 * seconds. A map type without batch support gets them one by one. */
#define MAP_BATCH 4096

typedef struct map_writer {
        int fd;
        size_t key_size, value_size, n;
        uint8_t *keys, *values;
        int r;
} map_writer;

static void mw_flush(map_writer *w)
{
        uint32_t count = (uint32_t) w->n;

        if (w->n == 0 || w->r < 0)
                return;
        if (bpf_map_update_batch(w->fd, w->keys, w->values, &count, NULL) < 0) {
                int r = negative_errno();

                if (r != -EINVAL && r != -ENOTSUP && r != -EOPNOTSUPP)
                        w->r = r;
                for (size_t i = count; w->r == 0 && i < w->n; i++)
                        if (bpf_map_update_elem(w->fd, w->keys + i * w->key_size, w->values + i * w->value_size,
                                                BPF_ANY) < 0)
                                w->r = negative_errno();
        }
        w->n = 0;
}

static void mw_put(map_writer *w, const void *key, const void *value)
{
        if (w->r < 0)
                return;
        if (!w->keys) {
                w->keys = malloc(MAP_BATCH * w->key_size);
                w->values = malloc(MAP_BATCH * w->value_size);
                if (!w->keys || !w->values) {
                        w->r = -ENOMEM;
                        return;
                }
        }
        memcpy(w->keys + w->n * w->key_size, key, w->key_size);
        memcpy(w->values + w->n * w->value_size, value, w->value_size);
        if (++w->n == MAP_BATCH)
                mw_flush(w);
}

static int mw_done(map_writer *w)
{
        mw_flush(w);
        free(w->keys);
        free(w->values);
        w->keys = w->values = NULL;
        return w->r;
}

static void src_key_make(uid_t uid, const uoa_addr *prefix, unsigned bits, void *ret)
{
        if (prefix->family == AF_INET) {
                struct uoa_bpf_src4_key k = { .prefixlen = 32 + bits, .uid = htonl(uid) };

                memcpy(&k.addr, prefix->bytes, 4);
                memcpy(ret, &k, sizeof(k));
        } else {
                struct uoa_bpf_src6_key k = { .prefixlen = 32 + bits, .uid = htonl(uid) };

                memcpy(k.addr, prefix->bytes, 16);
                memcpy(ret, &k, sizeof(k));
        }
}

/* The five maps of the plan; deleting: keys of p's plan that `keep` (the
 * policy now served) lacks are removed, else they are written. */
typedef struct plan_io {
        map_writer slices, addrs, src4, src6, owners;
        const policy *keep;
        int r;
} plan_io;

static void key_delete(plan_io *io, int fd, const void *key)
{
        if (io->r == 0 && bpf_map_delete_elem(fd, key) < 0 && errno != ENOENT)
                io->r = negative_errno();
}

static void src_io(uid_t uid, const uoa_addr *prefix, unsigned bits, uint32_t index, void *userdata)
{
        plan_io *io = userdata;
        map_writer *w = prefix->family == AF_INET ? &io->src4 : &io->src6;
        const policy_slice *s;
        uint8_t key[sizeof(struct uoa_bpf_src6_key)];

        src_key_make(uid, prefix, bits, key);
        if (!io->keep)
                return mw_put(w, key, &index);
        s = policy_slice_find(io->keep, uid);
        if (!s || policy_bpf_source_index(s, prefix, bits) < 0)
                key_delete(io, w->fd, key);
}

static void owner_io(const struct uoa_bpf_owner_key *k, uint32_t uid, void *userdata)
{
        plan_io *io = userdata;

        if (!io->keep)
                return mw_put(&io->owners, k, &uid);
        if (!policy_bpf_owner_kept(io->keep, k))
                key_delete(io, io->owners.fd, k);
}

/* Write slice s's entries (keep NULL), or delete those of its entries that
 * io->keep does not have. */
static void slice_io(plan_io *io, const policy_slice *s)
{
        const policy_slice *kept = io->keep ? policy_slice_find(io->keep, s->uid) : NULL;
        struct uoa_bpf_slice v;
        uint32_t uid = s->uid;

        for (size_t j = 0; j < s->n_addrs; j++) {
                struct uoa_bpf_addr_key k;
                struct uoa_bpf_range range;
                uoa_addr a;

                policy_bpf_addr(s, j, &k, &range);
                if (!io->keep)
                        mw_put(&io->addrs, &k, &range);
                else if (!kept || !policy_bpf_addr_key_decode(&k, &a) || !policy_slice_address(kept, &a))
                        key_delete(io, io->addrs.fd, &k);
        }
        policy_bpf_sources(s, AF_INET, src_io, io);
        policy_bpf_sources(s, AF_INET6, src_io, io);
        policy_bpf_owners(s, owner_io, io);
        if (!io->keep) {
                policy_bpf_slice(s, &v);
                mw_put(&io->slices, &uid, &v);
        } else if (!kept)
                key_delete(io, io->slices.fd, &uid);
}

/* Make the maps hold p's plan, given that they hold old's (NULL: empty, at
 * start). Only slices that changed are touched: their entries are written
 * first, then what old had and p has not is deleted, so an address that
 * stays is never missing and a removed one stops being the slice's at once. */
int engine_bpf_apply(engine_bpf *e, const policy *old, const policy *p)
{
        plan_io io = {
                .slices = { .fd = bpf_map__fd(e->skel->maps.uoa_slices), .key_size = sizeof(uint32_t),
                            .value_size = sizeof(struct uoa_bpf_slice) },
                .addrs = { .fd = bpf_map__fd(e->skel->maps.uoa_addrs), .key_size = sizeof(struct uoa_bpf_addr_key),
                           .value_size = sizeof(struct uoa_bpf_range) },
                .src4 = { .fd = bpf_map__fd(e->skel->maps.uoa_src4), .key_size = sizeof(struct uoa_bpf_src4_key),
                          .value_size = sizeof(uint32_t) },
                .src6 = { .fd = bpf_map__fd(e->skel->maps.uoa_src6), .key_size = sizeof(struct uoa_bpf_src6_key),
                          .value_size = sizeof(uint32_t) },
                .owners = { .fd = bpf_map__fd(e->skel->maps.uoa_owner),
                            .key_size = sizeof(struct uoa_bpf_owner_key), .value_size = sizeof(uint32_t) },
        };
        int r;

        for (size_t i = 0, j = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i), *o = policy_slice_seek(old, &j, s->uid);

                if (!o || !policy_slice_addresses_equal(o, s))
                        slice_io(&io, s);
        }
        /* Owners first: an address moving between slices is never steered
         * to the old one's sockets once the new owner's entry is written. */
        r = mw_done(&io.owners);
        r = r < 0 ? r : mw_done(&io.addrs);
        r = r < 0 ? r : mw_done(&io.src4);
        r = r < 0 ? r : mw_done(&io.src6);
        r = r < 0 ? r : mw_done(&io.slices);
        if (r < 0 || !old)
                return r < 0 ? r : 0;
        io.keep = p;
        for (size_t i = 0, j = 0; io.r == 0 && i < policy_slice_count(old); i++) {
                const policy_slice *o = policy_slice_at(old, i), *s = policy_slice_seek(p, &j, o->uid);

                if (!s || !policy_slice_addresses_equal(o, s))
                        slice_io(&io, o);
        }
        return io.r;
}

static int pin_path(const engine_bpf *e, const char *prefix, int h, char *buf, size_t len)
{
        if (snprintf(buf, len, "%s/%s%s", e->pin_dir, prefix, hook_name[h]) >= (int) len)
                return -ENAMETOOLONG;
        return 0;
}

/* One hook: take over the link an earlier uoad pinned (its program replaced
 * atomically), or attach a new link and pin it under a temporary name that
 * is renamed into place, so a crash never leaves a half-made pin (bpffs
 * refuses names with a dot: "new-", not ".new"). */
static int hook_attach(engine_bpf *e, int h, int cgroup_fd, int netns_fd)
{
        struct bpf_program *prog = hook_prog(e->skel, h);
        char path[PATH_MAX], tmp[PATH_MAX];
        struct bpf_link *l;
        int r;

        if ((r = pin_path(e, "", h, path, sizeof(path))) < 0 || (r = pin_path(e, "new-", h, tmp, sizeof(tmp))) < 0)
                return r;
        l = access(path, F_OK) == 0 ? bpf_link__open(path) : NULL;
        if (l) {
                if (bpf_link__update_program(l, prog) < 0) {
                        r = negative_errno();
                        bpf_link__disconnect(l); /* keep the old pinned program in force */
                        bpf_link__destroy(l);
                        return r;
                }
                e->links[h] = l;
                return 0;
        }
        l = h == HOOK_LOOKUP ? bpf_program__attach_netns(prog, netns_fd) : bpf_program__attach_cgroup(prog, cgroup_fd);
        if (!l)
                return negative_errno();
        unlink(tmp);
        if (bpf_link__pin(l, tmp) < 0 || rename(tmp, path) < 0) {
                r = negative_errno();
                unlink(tmp);
                bpf_link__destroy(l);
                return r;
        }
        e->links[h] = l;
        return 0;
}

/* One refusal by a program: counted as uoad counts its own, logged under
 * the same per-slice rate limit, naming who asked for what and the errno. */
static int event_handle(void *userdata, void *data, size_t len)
{
        static const call_kind kind[] = { [UOA_BPF_HOOK_BIND] = CALL_BIND, [UOA_BPF_HOOK_CONNECT] = CALL_CONNECT,
                                          [UOA_BPF_HOOK_SENDMSG] = CALL_SENDMSG };
        static const char *const call[] = { [UOA_BPF_HOOK_BIND] = "bind", [UOA_BPF_HOOK_CONNECT] = "connect",
                                            [UOA_BPF_HOOK_SENDMSG] = "sendto/sendmsg" };
        engine_bpf *e = userdata;
        struct uoa_bpf_event ev;
        char what[UOA_ADDR_STRLEN] = "", comm[sizeof(ev.comm) + 1] = "";
        struct timespec ts;

        if (len < sizeof(ev))
                return 0;
        memcpy(&ev, data, sizeof(ev));
        if (ev.hook == UOA_BPF_HOOK_WILD_UDP) {
                e->wild_pending = true;
                return 0;
        }
        if (ev.hook >= ELEMENTSOF(kind))
                return 0;
        stats_count(e->d, ev.uid, kind[ev.hook], true);
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        if (!stats_log_allowed(e->d, ev.uid, (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000))
                return 0;
        if (ev.family == AF_INET || ev.family == AF_INET6) {
                uoa_addr a = { .family = ev.family };

                memcpy(a.bytes, ev.addr, uoa_addr_size(a.family));
                uoa_addr_port_format(&a, ev.port, what, sizeof(what));
        } else if (ev.port)
                snprintf(what, sizeof(what), "port %u", ev.port);
        memcpy(comm, ev.comm, sizeof(ev.comm));
        log_info("slice %u: pid %u (%s): %s %s refused by the kernel engine: %s", ev.uid, ev.pid, comm,
                 call[ev.hook], what, notify_errno_name(ev.err));
        return 0;
}

int engine_bpf_events_fd(const engine_bpf *e)
{
        return ring_buffer__epoll_fd(e->events);
}

/* Run the iterator that enters every bound UDP wildcard socket of our
 * namespace in uoa_wild (already there: entered again, no harm). */
static void wild_udp_refresh(engine_bpf *e)
{
        char buf[64];
        int fd = bpf_iter_create(bpf_link__fd(e->wild_udp));
        ssize_t n;

        if (fd < 0) {
                log_warn("cannot run the UDP wildcard iterator: %m");
                return;
        }
        do
                n = read(fd, buf, sizeof(buf));
        while (n > 0 || (n < 0 && errno == EINTR));
        close(fd);
}

void engine_bpf_events(uoad *d, engine_bpf *e)
{
        e->d = d;
        (void) ring_buffer__consume(e->events);
        if (e->wild_pending) {
                e->wild_pending = false;
                wild_udp_refresh(e);
        }
}

/* uoad bound a wildcard request itself (the seccomp engine, or a call the
 * kernel engine leaves to uoad): mark the socket as the bind programs do,
 * so that it serves all of the slice's addresses. Safe: it only records
 * the uid the socket was already bound for. */
int engine_bpf_wild_mark(engine_bpf *e, int sock, uid_t uid, bool udp, const uoa_addr *name6)
{
        struct uoa_bpf_sk v = { .uid = uid, .flags = UOA_BPF_SK_WILD };

        if (name6) {
                v.flags |= UOA_BPF_SK_DUAL;
                memcpy(v.name6, name6->bytes, 16);
        }
        if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.uoa_sk), &sock, &v, BPF_ANY) < 0)
                return negative_errno();
        if (udp)
                wild_udp_refresh(e);
        return 0;
}

bool engine_bpf_decides(const engine_bpf *e)
{
        return e && e->enforce;
}

/* The maps that hold sockets, not policy: pinned with the links so that a
 * restarted uoad keeps steering the wildcard sockets already there. */
static int state_pin(engine_bpf *e)
{
        char path[PATH_MAX + 8];
        int r;

        snprintf(path, sizeof(path), "%s/sk", e->pin_dir);
        r = bpf_map__set_pin_path(e->skel->maps.uoa_sk, path);
        snprintf(path, sizeof(path), "%s/wild", e->pin_dir);
        return r < 0 ? r : bpf_map__set_pin_path(e->skel->maps.uoa_wild, path);
}

int engine_bpf_start(const policy *p, bool enforce, engine_bpf **ret, char *err, size_t errlen)
{
        _cleanup_close_ int cgroup_fd = -1, netns_fd = -1;
        engine_bpf *e;
        int r, h;

        libbpf_set_print(libbpf_log);
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->enforce = enforce;
        r = netns_cookie(&e->cookie);
        if (r < 0) {
                snprintf(err, errlen, "no network namespace cookie (SO_NETNS_COOKIE, Linux 5.14): %s", strerror(-r));
                goto fail;
        }
        cgroup_fd = cgroup2_open(e);
        if (cgroup_fd < 0) {
                r = cgroup_fd;
                snprintf(err, errlen, "no cgroup2 hierarchy (none mounted, and mounting one failed)");
                goto fail;
        }
        r = pin_dir_make(e, err, errlen);
        if (r < 0)
                goto fail;
        e->skel = uoa_bpf__open();
        if (!e->skel) {
                r = negative_errno();
                snprintf(err, errlen, "cannot open the kernel engine's programs: %s", strerror(-r));
                goto fail;
        }
        e->skel->rodata->netns_cookie = e->cookie;
        e->skel->rodata->enforce = enforce;
        r = state_pin(e);
        if (r == 0)
                r = uoa_bpf__load(e->skel);
        if (r < 0) {
                snprintf(err, errlen, "the kernel refused the kernel engine's programs: %s", strerror(-r));
                goto fail;
        }
        r = engine_bpf_apply(e, NULL, p);
        if (r < 0) {
                snprintf(err, errlen, "cannot fill the kernel engine's maps: %s", strerror(-r));
                goto fail;
        }
        e->kind = WATCH_BPF_EVENTS;
        e->events = ring_buffer__new(bpf_map__fd(e->skel->maps.uoa_events), event_handle, e, NULL);
        if (!e->events) {
                r = negative_errno();
                snprintf(err, errlen, "cannot read the kernel engine's events: %s", strerror(-r));
                goto fail;
        }
        e->wild_udp = bpf_program__attach_iter(e->skel->progs.uoa_wild_udp, NULL);
        netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (!e->wild_udp || netns_fd < 0) {
                r = negative_errno();
                snprintf(err, errlen, "cannot set up the wildcard's steering: %s", strerror(-r));
                goto fail;
        }
        for (h = 0; h < _HOOK_MAX; h++) {
                r = hook_attach(e, h, cgroup_fd, netns_fd);
                if (r < 0) {
                        snprintf(err, errlen, "cannot attach %s to %s: %s", hook_name[h], e->cgroup, strerror(-r));
                        goto fail;
                }
        }
        wild_udp_refresh(e); /* sockets bound while no uoad ran */
        *ret = e;
        return 0;
fail:
        /* Half attached is worse than either engine: take it all away. */
        if (e->links[HOOK_BIND4])
                engine_bpf_remove(e);
        else if (*e->pin_dir)
                (void) rmdir(e->pin_dir); /* ours and empty, or another uoad's and left alone */
        engine_bpf_free(e);
        return r;
}

const char *engine_bpf_pin_dir(const engine_bpf *e)
{
        return e->pin_dir;
}

const char *engine_bpf_cgroup(const engine_bpf *e)
{
        return e->cgroup;
}

/* SIGTERM: detach every program and remove the pins, so nothing of the
 * engine remains (BPF_LINK_DETACH, 5.9, detaches even a link still held). */
void engine_bpf_remove(engine_bpf *e)
{
        char path[PATH_MAX];

        for (int h = 0; h < _HOOK_MAX; h++) {
                if (pin_path(e, "", h, path, sizeof(path)) == 0)
                        unlink(path);
                if (e->links[h])
                        (void) bpf_link__detach(e->links[h]);
        }
        (void) bpf_map__unpin(e->skel->maps.uoa_sk, NULL);
        (void) bpf_map__unpin(e->skel->maps.uoa_wild, NULL);
        if (rmdir(e->pin_dir) < 0 && errno != ENOENT)
                log_warn("cannot remove %s: %m", e->pin_dir);
}

/* Close our handles only: pinned links stay attached (a crash or exit
 * without SIGTERM must not open the slices up). */
void engine_bpf_free(engine_bpf *e)
{
        if (!e)
                return;
        for (int h = 0; h < _HOOK_MAX; h++)
                if (e->links[h]) {
                        bpf_link__disconnect(e->links[h]);
                        bpf_link__destroy(e->links[h]);
                }
        bpf_link__destroy(e->wild_udp);
        ring_buffer__free(e->events);
        uoa_bpf__destroy(e->skel);
        free(e);
}
