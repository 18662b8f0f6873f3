/* uoad/uoad.h: the daemon's state, shared by its parts: struct uoad (with
 * each part's own state, declared in that part's header), a listener and a
 * notification being handled. Each part's API is in its own header
 * (uoad/control.h, notify.h, ...). */
#pragma once

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/policy.h"
#include "uoad/caller.h"
#include "uoad/control.h"
#include "uoad/holder.h"
#include "uoad/notify.h"
#include "uoad/notify_worker.h"
#include "uoad/relay.h"
#include "uoad/resume.h"
#include "uoad/shape_monitor.h"
#include "uoad/stats.h"
#include "uoad/watch.h"

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
        resume_exe resume;          /* resume.c: what SIGUSR2 executes */
        stats_table stats;          /* stats.c: the call counters */
        caller_pool caller;         /* caller.c: binds and listens in the caller's context */
        holder_conn holder;         /* holder.c: who keeps the sessions across a crash */
        control_socket control;     /* control.c: the control socket and its connections */
        relay_clients relay;        /* relay.c: the slices' proxied netlink sockets */
        notify_listeners notify;    /* notify.c: the listeners, the policy the workers use */
        notify_pool pool;           /* notify_worker.c: the workers and their watchdog */
        shape_monitor shape_monitor; /* shape_monitor.c: interfaces that appear later */
} uoad;

/* struct uoad before main() fills it in: no fds yet, every lock ready. */
#define UOAD_INIT                                                                      \
        {                                                                              \
                .epoll_fd = -1, .rtnl_fd = -1, .stats = STATS_TABLE_INIT,              \
                .caller = CALLER_POOL_INIT, .holder = HOLDER_CONN_INIT,                \
                .control = CONTROL_SOCKET_INIT, .relay = RELAY_CLIENTS_INIT,           \
                .notify = NOTIFY_LISTENERS_INIT, .pool = NOTIFY_POOL_INIT,             \
                .shape_monitor = SHAPE_MONITOR_INIT,                                   \
        }

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

/* uoad.c */
uint64_t now_ms(void); /* CLOCK_MONOTONIC */
static inline size_t uoad_dropins(const uoad *d)
{
        return d->n_policy_files > 0 ? d->n_policy_files - 1 : 0;
}
