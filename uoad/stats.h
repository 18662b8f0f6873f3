/* uoad/stats.h: per-slice call counters and the refusal log rate limit
 * (uoad/stats.c). */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* uoad.h embeds this header's state in struct uoad, so it only names it. */
typedef struct uoad uoad;

typedef enum call_kind {
        CALL_BIND, CALL_LISTEN, CALL_CONNECT, CALL_SENDTO, CALL_SENDMSG, CALL_SENDMMSG,
        CALL_SOCKET, CALL_SETSOCKOPT, CALL_CAPSET, CALL_NETLINK, _CALL_MAX,
} call_kind;
/* The counters, one entry per uid (d->stats). The notification workers
 * count concurrently: under lock. */
typedef struct stats_table {
        pthread_mutex_t lock;
        struct slice_stats *slots;
        size_t size, used; /* open addressing, power of two */
} stats_table;
#define STATS_TABLE_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

struct strbuf;
void stats_count(uoad *d, uid_t uid, call_kind k, bool refused);
bool stats_log_allowed(uoad *d, uid_t uid, uint64_t now);
void stats_format(uoad *d, struct strbuf *b, const uid_t *only_uid);
void stats_free(uoad *d);
int stats_restore(uoad *d, const char *line); /* one line of stats_format(), added in */
#define STATS_MARKER "%calls\n" /* separates the policy from counters in "show" */
