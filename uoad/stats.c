/* uoad/stats.c: per-slice counters of allowed and refused calls (for
 * `uoamap show`) and the rate limit on refusal log lines. One entry per uid
 * that was ever supervised: 2 x _CALL_MAX counters, ~200 bytes. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "uoad/stats.h"
#include "uoad/uoad.h"

#define LOG_BURST 10         /* refusal lines per slice per second... */
#define LOG_WINDOW_MS 1000u  /* ...after which they are counted, not logged */

static const char *const call_names[_CALL_MAX] = {
        [CALL_BIND] = "bind",       [CALL_LISTEN] = "listen",   [CALL_CONNECT] = "connect",
        [CALL_SENDTO] = "sendto",   [CALL_SENDMSG] = "sendmsg", [CALL_SENDMMSG] = "sendmmsg",
        [CALL_SOCKET] = "socket",   [CALL_SETSOCKOPT] = "setsockopt",
        [CALL_CAPSET] = "capset",   [CALL_NETLINK] = "netlink",
};

typedef struct slice_stats {
        uid_t uid;
        bool used;
        uint64_t allowed[_CALL_MAX], refused[_CALL_MAX];
        uint64_t window_start_ms;
        unsigned logged, suppressed;
} slice_stats;

static slice_stats *stats_slot(stats_table *st, uid_t uid)
{
        if (st->used * 2 >= st->size) {
                size_t size = st->size ? st->size * 2 : 64;
                slice_stats *t = calloc(size, sizeof(*t));

                if (!t)
                        return NULL;
                for (size_t i = 0; i < st->size; i++)
                        if (st->slots[i].used) {
                                size_t j = (st->slots[i].uid * 2654435761u) & (size - 1);

                                while (t[j].used)
                                        j = (j + 1) & (size - 1);
                                t[j] = st->slots[i];
                        }
                free(st->slots);
                st->slots = t;
                st->size = size;
        }
        for (size_t j = (uid * 2654435761u) & (st->size - 1);; j = (j + 1) & (st->size - 1)) {
                if (st->slots[j].used && st->slots[j].uid == uid)
                        return &st->slots[j];
                if (!st->slots[j].used) {
                        st->slots[j] = (slice_stats) { .uid = uid, .used = true };
                        st->used++;
                        return &st->slots[j];
                }
        }
}

void stats_count(uoad *d, uid_t uid, call_kind k, bool refused)
{
        stats_table *st = &d->stats;
        slice_stats *s;

        pthread_mutex_lock(&st->lock);
        s = stats_slot(st, uid);
        if (s && k < _CALL_MAX)
                (refused ? s->refused : s->allowed)[k]++;
        pthread_mutex_unlock(&st->lock);
}

/* Whether this refusal may be logged: LOG_BURST lines per slice per window,
 * the rest counted and reported once the window is over. */
bool stats_log_allowed(uoad *d, uid_t uid, uint64_t now_ms)
{
        stats_table *st = &d->stats;
        unsigned suppressed = 0;
        slice_stats *s;
        bool ok = true;

        pthread_mutex_lock(&st->lock);
        s = stats_slot(st, uid);
        if (s && now_ms - s->window_start_ms >= LOG_WINDOW_MS) {
                suppressed = s->suppressed;
                s->window_start_ms = now_ms;
                s->logged = s->suppressed = 0;
        }
        if (s && s->logged < LOG_BURST)
                s->logged++;
        else if (s) {
                s->suppressed++;
                ok = false;
        }
        pthread_mutex_unlock(&st->lock);
        if (suppressed)
                log_info("slice %u: %u more refusals not logged (rate limit)", uid, suppressed);
        return ok;
}

/* "UID CALL ALLOWED REFUSED" lines, non-zero calls only. */
void stats_format(uoad *d, strbuf *b, const uid_t *only_uid)
{
        stats_table *st = &d->stats;

        pthread_mutex_lock(&st->lock);
        for (size_t i = 0; i < st->size; i++) {
                const slice_stats *s = &st->slots[i];

                if (!s->used || (only_uid && s->uid != *only_uid))
                        continue;
                for (int k = 0; k < _CALL_MAX; k++)
                        if (s->allowed[k] || s->refused[k])
                                strbuf_printf(b, "%u %s %llu %llu\n", s->uid, call_names[k],
                                              (unsigned long long) s->allowed[k],
                                              (unsigned long long) s->refused[k]);
        }
        pthread_mutex_unlock(&st->lock);
}

/* One "UID CALL ALLOWED REFUSED" line of stats_format(), counted in again
 * (the state a re-executed uoad is handed). */
int stats_restore(uoad *d, const char *line)
{
        stats_table *st = &d->stats;
        unsigned uid;
        unsigned long long allowed, refused;
        char call[32];
        slice_stats *s;
        int r = -EINVAL;

        if (sscanf(line, "%u %31s %llu %llu", &uid, call, &allowed, &refused) != 4)
                return -EINVAL;
        pthread_mutex_lock(&st->lock);
        for (int k = 0; k < _CALL_MAX; k++)
                if (strcmp(call, call_names[k]) == 0 && (s = stats_slot(st, uid))) {
                        s->allowed[k] += allowed;
                        s->refused[k] += refused;
                        r = 0;
                }
        pthread_mutex_unlock(&st->lock);
        return r;
}

void stats_free(uoad *d)
{
        stats_table *st = &d->stats;

        pthread_mutex_lock(&st->lock);
        free(st->slots);
        st->slots = NULL;
        st->size = st->used = 0;
        pthread_mutex_unlock(&st->lock);
}
