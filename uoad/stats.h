/* uoad/stats.h: per-slice call counters and the refusal log rate limit
 * (uoad/stats.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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
