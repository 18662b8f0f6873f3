/* uoad/engine_bpf.h: the kernel engine (bpf/uoa.bpf.c), loaded and filled
 * by uoad/engine_bpf.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/addr.h"
#include "policy/policy.h"
#include "uoad/uoad.h"

/* start: load, fill the maps
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
void engine_bpf_events(uoad *d, engine_bpf *e); /* counts them in d->stats */
const char *engine_bpf_cgroup(const engine_bpf *e);
