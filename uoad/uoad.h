/* uoad/uoad.h: the daemon's state and the interfaces between its parts
 * (control socket, listeners and notification handlers, kernel lookups). */
#pragma once

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/policy.h"

/* What an epoll event's data.ptr points at; the first member of each owner. */
typedef enum watch_kind {
        WATCH_CONTROL,
        WATCH_CONN,
        WATCH_LISTENER,
        WATCH_SIGNAL,
        WATCH_BPF_EVENTS, /* engine_bpf.c: the kernel engine's refusals */
        WATCH_CALLER,    /* caller.c: a thread ended */
        WATCH_SHAPE_LINKS, /* shape_monitor.c: an interface appeared */
        WATCH_NL_CTL,    /* uoad/relay.c: a client's control connection */
        WATCH_NL_DATA,   /* ... its data socket */
        WATCH_NL_KERNEL, /* ... our kernel socket for it */
} watch_kind;

typedef struct engine_bpf engine_bpf;

typedef struct uoad {
        policy *policy;
        engine_bpf *bpf;            /* the kernel engine; NULL: the seccomp engine alone */
        const char *config_path;    /* the main file; its drop-ins are config_path.d/ *.conf */
        size_t n_policy_files;      /* how many the last load read, the main file included */
        bool guard_touched;         /* guard_apply() has run (a failed start removes only then) */
        const char *socket_path;
        int epoll_fd;
        int rtnl_fd;                /* route lookups for source selection; -1 if none */
        uint16_t unpriv_port_start; /* net.ipv4.ip_unprivileged_port_start */
        bool sync_wakeup;           /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP works */
        size_t n_listeners, n_conns;
} uoad;

/* One registered seccomp listener: all processes descended from one uoa-run. */
typedef struct listener {
        watch_kind kind; /* WATCH_LISTENER */
        int fd;
        uid_t uid;
        pid_t pid;       /* the uoa-run that registered it, for the log */
        int refs;        /* the list's, and a worker's while it serves it (atomic) */
        struct listener *prev, *next;
} listener;

/* One notification being handled. */
typedef struct notif {
        uoad *d;
        listener *l;
        struct seccomp_notif *req;
        struct seccomp_notif_resp *resp;
        const policy_slice *slice; /* never NULL: an empty slice if uid has none */
        bool answered;             /* the handler already answered (ADDFD_FLAG_SEND) */
        bool refused;              /* notify_refusal() answered it */
} notif;

/* control.c */
int control_open(uoad *d);
uint64_t now_ms(void); /* CLOCK_MONOTONIC (uoad.c) */
void control_event(uoad *d, void *watch, uint32_t events, uint64_t now);
void control_sweep(uoad *d, uint64_t now);
void control_close(uoad *d);
/* The handover to a re-executed uoad (resume.c): the listening socket and
 * the connections waiting for a request (those with a reply half sent are
 * not handed over: their clients see the connection close). */
int control_fd(void);
void control_conns_each(void (*f)(int fd, void *userdata), void *userdata);
int control_adopt(uoad *d, int fd);
void control_conn_adopt(uoad *d, int fd, uint64_t now_ms);
int uoad_policy_text_set(uoad *d, const char *text, size_t len, const char *label, char *err, size_t errlen);
/* Read the main file and its drop-ins, validate them as one policy and
 * serve it; on any error (every one in err, one a line) nothing changes. */
int uoad_policy_load(uoad *d, char *err, size_t errlen);
static inline size_t uoad_dropins(const uoad *d)
{
        return d->n_policy_files > 0 ? d->n_policy_files - 1 : 0;
}

/* notify.c */
int notify_init(uoad *d);
int notify_listener_add(uoad *d, int fd, uid_t uid, pid_t pid);
bool notify_listener_serve(uoad *d, listener *l, uint32_t events, struct seccomp_notif *req,
                           struct seccomp_notif_resp *resp);
void notify_listener_hold(listener *l);
void notify_listener_release(listener *l);
void notify_listener_rearm(listener *l);
void notify_listeners_rearm(void);
void notify_listeners_each(void (*f)(const listener *l, void *userdata), void *userdata);
size_t notify_req_size(void);
size_t notify_resp_size(void);
/* The policy the workers decide with; the loop's thread swaps it (p NULL:
 * at exit), the old one is freed when its last worker is done. */
void notify_policy_swap(policy *p);
/* Close every listener: their processes' trapped calls fail from now on. */
void notify_shutdown(uoad *d);

/* notify_worker.c: the workers that serve the listeners, and the watchdog
 * that leaves a stalled one to its slice (docs/design.md §5.5). */
int notify_workers_start(uoad *d, int epoll_fd);
int notify_workers_drain(unsigned timeout_ms, char *why, size_t whylen);
void notify_workers_undrain(void);
void notify_workers_stop(void);
bool notify_read_allowed(uid_t uid); /* false: the slice has stalled its share of workers */
int uoad_thread_start(void *(*f)(void *), void *arg, size_t stack_size); /* detached, signals blocked */
void notify_reply_continue(notif *n);
void notify_reply(notif *n, int64_t val);
void notify_reply_error(notif *n, int negerrno);
void notify_refusal(notif *n, const char *call, int negerrno, const char *what);
const char *notify_errno_name(int e); /* "EADDRNOTAVAIL", or strerror() */
void notify_answer(int fd, uint64_t id, int result); /* from any thread */

/* notify_bind.c, notify_send.c: one function per trapped system call. */
void notify_bind(notif *n);
void notify_listen(notif *n);
void notify_connect(notif *n);
void notify_sendto(notif *n);
void notify_sendmsg(notif *n);
void notify_sendmmsg(notif *n);
void notify_socket(notif *n);
void notify_setsockopt(notif *n);

/* Shared by the handlers (notify_bind.c). */
typedef enum sock_state { SOCK_OTHER, SOCK_UNBOUND, SOCK_BOUND_OWN, SOCK_BOUND_FOREIGN } sock_state;
typedef struct sock_info {
        int domain, type; /* type 0: not asked (notify_bind) */
        sock_state state;
        bool v6only;
} sock_info;
int sock_inspect(const notif *n, int sock, sock_info *ret);
int notif_socket_get(notif *n, sock_info *si);
int sock_bind_decided(const notif *n, int sock, const sock_info *si, const policy_bind *b,
                      bool defer_port);
int sock_autobind(notif *n, int sock, const sock_info *si, const uoa_addr *dst);

/* caller.c: bind/listen on our duplicate in the calling thread's context
 * (root, cwd, umask, ids, no capabilities), by a thread that answers; the
 * notification is answered either way (EAGAIN past the slice's queue). */
typedef enum caller_call { CALLER_BIND, CALLER_LISTEN } caller_call;
int caller_init(uoad *d);
void caller_act(notif *n, int sock, caller_call call, const struct sockaddr_storage *addr, size_t addr_len,
                int backlog);
void caller_event(uoad *d); /* WATCH_CALLER: start queued calls */
void caller_shutdown(void);
unsigned caller_busy(void); /* calls running or queued: a re-exec waits for none */

/* target.c: safe access to the notifying process. */
int target_fd_get(const notif *n, int target_fd);
int target_mem_read(const notif *n, uint64_t addr, void *buf, size_t len);
int target_sockaddr_read(const notif *n, uint64_t addr, uint64_t len,
                         struct sockaddr_storage *ret, size_t *ret_len);
bool target_id_valid(const notif *n);
bool target_notif_valid(int listener_fd, uint64_t id); /* the same, from any thread */
void target_cache_clear(void); /* close the cached pidfds */

/* guard.c: the kernel guard for policy p (nftables, ip rules, slice tables). */
/* old: the policy whose guard is in force (NULL: unknown, rebuild it all). */
int guard_apply(uoad *d, const policy *old, const policy *p, char *err, size_t errlen);
int guard_remove(uoad *d);
/* Put a slice table's throw route back if it is gone (over rtnetlink socket
 * fd): 1 if it had to, 0 if it was there, or -errno. */
int guard_throw_restore(int fd, int family, uint32_t table);

/* engine_bpf.c: the kernel engine (bpf/uoa.bpf.c). start: load, fill the maps
 * from p, attach (or take over the pinned links of an earlier uoad); err says
 * why it cannot. apply: the maps, which hold old's plan (NULL: none), become
 * p's, touching only the slices that differ. remove: detach and unpin
 * (SIGTERM). free: close our handles, the pinned programs stay in force. */
int engine_bpf_start(const policy *p, bool enforce, engine_bpf **ret, char *err, size_t errlen);
bool engine_bpf_decides(const engine_bpf *e); /* enforce: the kernel decides; else it only steers the wildcard */
int engine_bpf_wild_mark(engine_bpf *e, int sock, uid_t uid, bool udp, const uoa_addr *name6);
int engine_bpf_apply(engine_bpf *e, const policy *old, const policy *p);
void engine_bpf_remove(engine_bpf *e);
void engine_bpf_free(engine_bpf *e);
const char *engine_bpf_pin_dir(const engine_bpf *e);
/* The refusals the programs report (a ring buffer): its fd for epoll, whose
 * data.ptr is e itself (first member: WATCH_BPF_EVENTS), and the handler
 * that counts and logs them as notify_refusal() does its own. */
int engine_bpf_events_fd(const engine_bpf *e);
void engine_bpf_events(engine_bpf *e);
const char *engine_bpf_cgroup(const engine_bpf *e);

/* control.c: make p the served policy: guard first, then swap; on failure
 * the old policy and its guard stay and p is freed. */
int uoad_policy_set(uoad *d, policy *p, char *err, size_t errlen);

/* uoad/relay.c: the rtnetlink proxy for slices' netlink sockets. */
int relay_client_add(uoad *d, int ctl_fd, uid_t uid);
void relay_event(uoad *d, void *watch, uint32_t events);
void relay_shutdown(uoad *d);
void relay_reap(void); /* after each epoll batch */
/* The handover to a re-executed uoad (resume.c). */
typedef struct relay_saved {
        int ctl_fd, data_fd, kern_fd;
        uid_t uid;
        uint32_t portid, kern_portid;
        bool ext_ack, cap_ack;
        const char *pending; /* one datagram the client has not taken yet */
        size_t pending_len;
} relay_saved;
void relay_clients_each(void (*f)(const relay_saved *c, void *userdata), void *userdata);
uint32_t relay_next_portid(void);
int relay_client_adopt(uoad *d, const relay_saved *s, uint32_t next_portid);

/* stats.c: per-slice call counters and the refusal log rate limit. */
typedef enum call_kind {
        CALL_BIND, CALL_LISTEN, CALL_CONNECT, CALL_SENDTO, CALL_SENDMSG, CALL_SENDMMSG,
        CALL_SOCKET, CALL_SETSOCKOPT, CALL_CAPSET, CALL_NETLINK, _CALL_MAX,
} call_kind;
struct strbuf;
void stats_count(uid_t uid, call_kind k, bool refused);
bool stats_log_allowed(uid_t uid, uint64_t now);
void stats_format(struct strbuf *b, const uid_t *only_uid);
void stats_free(void);
int stats_restore(const char *line); /* one line of stats_format(), added in */
#define STATS_MARKER "%calls\n" /* separates the policy from counters in "show" */

/* resume.c: SIGUSR2 re-executes the binary at uoad's path, handing it every
 * session (docs/enforcement.md "Upgrades and restarts"). */
int resume_init(int argc, char **argv);        /* at start: what to exec, and how */
void resume_exec(uoad *d);                     /* returns only if the new image could not start */
int resume_check(int state_fd);                /* --resume-check: 0 if this image can take the state */
int resume_policy(uoad *d, int state_fd, char *err, size_t errlen); /* --resume: the served policy, counters */
int resume_adopt(uoad *d, int state_fd);       /* ... then the sessions; closes state_fd */

/* holder.c: a process of ours that keeps every session's fds across a
 * crash of uoad, for grace_s seconds (docs/enforcement.md). */
int holder_attach(const char *socket_path, unsigned grace_s, char **ret_state);
int holder_fd(void);
void holder_set(int fd);
void holder_add(unsigned key, const char *text, const int *fds, unsigned n);
void holder_del(unsigned key);
void holder_quit(void);
void resume_held_adopt(uoad *d, char *state); /* resume.c: the sessions a holder kept */

/* crash.c */
void crash_handler_install(void);

/* route_lookup.c */
int route_lookup_open(void);
int route_lookup_prefsrc(int rtnl_fd, const uoa_addr *dst, uid_t uid, uoa_addr *ret);
