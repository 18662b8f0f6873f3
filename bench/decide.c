/* bench/decide.c: the cost of one supervisor decision against the size of
 * the policy, without the kernel round trip: policy_slice_find +
 * policy_bind_decide (wildcard bind) + policy_source_select (unbound send).
 *   decide time N...      for each N: build a policy of N slices from
 *                         generated text (numeric uids, one dedicated IPv4
 *                         and one IPv6 address each), print
 *                         "decide N <median ns> <min ns> <max ns> <parse ms>
 *                          <hot median ns>": requests from uids drawn from
 *                         all N slices, and (hot) from 100 of them, the
 *                         same 100 whatever N: the cost of the policy's size
 *                         alone, without the cache misses of touching more
 *                         slices than the caches hold
 *   decide gen N [tables] print that policy text (uoad's memory run); with
 *                         "tables", every slice also gets a routing table */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

#define UID_BASE 200000u
#define BATCH 1000
#define BATCHES 101
#define HOT 100 /* slices making requests in the hot measurement */

static double now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/* Slice i: uid UID_BASE+i, 10.x.y.z with x.y.z = i+1 (10.0.0.0/8 holds
 * 16 million), fd00:b::i+1. */
static char *gen(unsigned n, int tables, size_t *len)
{
        size_t cap = (size_t) n * 96 + 64, off = 0;
        char *s = malloc(cap);

        if (!s)
                return NULL;
        for (unsigned i = 0; i < n; i++) {
                unsigned a = i + 1, uid = UID_BASE + i;

                off += (size_t) snprintf(s + off, cap - off,
                                         "%u address 10.%u.%u.%u\n%u address fd00:b::%x:%x\n", uid,
                                         (a >> 16) & 255, (a >> 8) & 255, a & 255, uid, a >> 16,
                                         a & 0xffff);
                if (tables)
                        off += (size_t) snprintf(s + off, cap - off, "%u table %u\n", uid, 1000 + i);
        }
        *len = off;
        return s;
}

static volatile unsigned sink;

/* Median ns per decision over BATCHES batches of BATCH requests from uids
 * drawn among `active` slices of n (spread evenly over all n). Fills
 * sorted[] (BATCHES) when given. */
static double time_decisions(const policy *p, unsigned n, unsigned active, const uoa_addr *dst,
                             double *sorted)
{
        uoa_addr any = { .family = AF_INET };
        unsigned seed = 12345, *uids = malloc(sizeof(*uids) * BATCH);
        double t[BATCHES], t0;

        if (!uids)
                return -1;
        /* Uids drawn in advance so the timed loop holds only the decisions. */
        for (int b = 0; b < BATCHES; b++) {
                for (int i = 0; i < BATCH; i++) {
                        seed = seed * 1103515245u + 12345u;
                        uids[i] = UID_BASE + (unsigned) ((uint64_t) ((seed >> 8) % active) * n / active);
                }
                t0 = now_ns();
                for (int i = 0; i < BATCH; i++) {
                        const policy_slice *s = policy_slice_find(p, uids[i]);
                        policy_bind r1, r2;

                        if (!s || policy_bind_decide(s, AF_INET, false, &any, 0, 1024, &r1) < 0 ||
                            policy_source_select(s, dst, NULL, &r2) < 0) {
                                fprintf(stderr, "decide: decision failed for uid %u\n", uids[i]);
                                free(uids);
                                return -1;
                        }
                        sink += r1.addr.bytes[3] + r2.addr.bytes[3];
                }
                t[b] = (now_ns() - t0) / BATCH;
        }
        free(uids);
        qsort(t, BATCHES, sizeof(t[0]), cmp_double);
        if (sorted)
                memcpy(sorted, t, sizeof(t));
        return t[BATCHES / 2];
}

static int time_one(unsigned n)
{
        char err[256];
        size_t len;
        char *text = gen(n, 0, &len);
        policy *p = NULL;
        double t0, parse_ms, t[BATCHES];
        uoa_addr dst;

        if (!text)
                return -ENOMEM;
        t0 = now_ns();
        if (policy_parse(text, len, "bench", NULL, NULL, &p, err, sizeof(err)) < 0) {
                fprintf(stderr, "decide: %s\n", err);
                return 1;
        }
        parse_ms = (now_ns() - t0) / 1e6;
        free(text);
        if (policy_slice_count(p) != n) {
                fprintf(stderr, "decide: %zu slices, expected %u\n", policy_slice_count(p), n);
                return 1;
        }
        uoa_addr_parse("10.250.1.2", &dst);
        double all = time_decisions(p, n, n, &dst, t);
        double hot = time_decisions(p, n, n < HOT ? n : HOT, &dst, NULL);

        if (all < 0 || hot < 0)
                return 1;
        printf("decide %u %.1f %.1f %.1f %.1f %.1f\n", n, all, t[0], t[BATCHES - 1], parse_ms, hot);
        policy_free(p);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc >= 3 && strcmp(argv[1], "gen") == 0) {
                size_t len;
                char *s = gen((unsigned) atoi(argv[2]), argc > 3 && strcmp(argv[3], "tables") == 0, &len);

                if (!s || fwrite(s, 1, len, stdout) != len)
                        return 1;
                free(s);
                return 0;
        }
        if (argc >= 3 && strcmp(argv[1], "time") == 0) {
                for (int i = 2; i < argc; i++)
                        if (time_one((unsigned) atoi(argv[i])) != 0)
                                return 1;
                return 0;
        }
        fprintf(stderr, "usage: decide time N... | decide gen N [tables]\n");
        return 2;
}
