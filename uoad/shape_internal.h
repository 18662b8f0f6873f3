/* uoad/shape_internal.h: what uoad/shape.c (the interfaces' HTBs, counters)
 * and uoad/shape_ingress.c (the IFBs) share: the kernel objects as read back
 * over rtnetlink, and the helpers both program them with. */
#pragma once

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "policy/policy_shape.h"

#define HANDLE (POLICY_SHAPE_MAJOR << 16)
/* The kernel's psched tick: PSCHED_SHIFT 6, 64 ns (include/net/pkt_sched.h). */
#define PSCHED_TICK_NS 64u
/* Above every attribute type read here (IFLA_*, TCA_*, TCA_HTB_*, TCA_STATS_*). */
#define ATTR_MAX 128
_Static_assert(IFLA_MAX < ATTR_MAX && TCA_MAX < ATTR_MAX, "ATTR_MAX is too small");

typedef struct slink {
        int ifindex;
        char name[IFNAMSIZ];
} slink;

typedef struct slinks {
        slink *v;
        size_t n, cap;
} slinks;

/* A root qdisc (or the leaf of our default class) the kernel has, as a
 * message that can re-create it. */
typedef struct sqdisc {
        int ifindex;
        uint32_t handle, parent;
        char kind[16];
        char *msg; /* RTM_NEWQDISC with TCA_KIND and TCA_OPTIONS only; NULL unless saved */
} sqdisc;

typedef struct sqdiscs {
        sqdisc *v;
        size_t n, cap;
} sqdiscs;

/* One HTB class, wanted or found, with its counters when found. */
typedef struct sclass {
        uint16_t minor;
        uint64_t rate;
        uint32_t buffer, quantum; /* buffer in psched ticks, as the kernel reports it */
        uint64_t bytes, packets;
        uint32_t drops, overlimits;
} sclass;

typedef struct sclasses {
        sclass *v;
        size_t n, cap;
        bool failed;
} sclasses;

#define VEC_PUSH(vec, item)                                                                  \
        ({                                                                                   \
                int _r = 0;                                                                  \
                if ((vec)->n == (vec)->cap) {                                                \
                        size_t _cap = (vec)->cap ? 2 * (vec)->cap : 16;                      \
                        void *_v = realloc((vec)->v, _cap * sizeof(*(vec)->v));              \
                        if (_v) {                                                            \
                                (vec)->v = _v;                                               \
                                (vec)->cap = _cap;                                           \
                        } else                                                               \
                                _r = -ENOMEM;                                                \
                }                                                                            \
                if (_r == 0)                                                                 \
                        (vec)->v[(vec)->n++] = (item);                                       \
                _r;                                                                          \
        })

/* Every interface of uoad's namespace. */
int shape_links_dump(int fd, slinks *ret);
int shape_attr_cb(const struct nlattr *a, void *data);
/* The fixed header of a kernel message and its attributes in tb (ATTR_MAX
 * entries), or NULL for a message too short to hold them. */
const void *shape_msg_parse(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb);
struct tcmsg *shape_tc_header(struct nlmsghdr *nlh, int type, uint16_t flags, int ifindex, uint32_t handle,
                              uint32_t parent);
/* policy_shape_classes() callback: appends the class to the sclasses. */
void shape_class_want(const policy_shape_slice *ss, uint64_t bps, void *userdata);
/* Our HTB on ifindex with the classes want (the default class added), or,
 * with none wanted, no HTB of ours (roots: the root qdiscs found). */
int shape_htb_sync(int fd, int ifindex, sclasses *want, sqdiscs *roots);
