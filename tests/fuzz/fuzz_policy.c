/* tests/fuzz/fuzz_policy.c: libFuzzer target for policy_parse(): arbitrary
 * text must never crash it, and whatever it accepts must survive a
 * policy_format() round trip and agree with its own lookups; split into a
 * main file and a drop-in at any line, it must mean the same.
 *
 * Build and run (from the repository root):
 *   clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     tests/fuzz/fuzz_policy.c common/addr.c policy/policy_*.c -o build/fuzz_policy
 *   build/fuzz_policy -max_len=4096 -max_total_time=300 CORPUS_DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "check failed: %s (line %d)\n", #x, __LINE__); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lower-case names of up to 8 letters are users; anything else is unknown. */
static int fake_resolve(const char *name, uid_t *ret_uid, void *userdata)
{
        uid_t uid = 70000;
        size_t n = strlen(name);

        (void)userdata;
        if (n == 0 || n > 8 || strspn(name, "abcdefghijklmnopqrstuvwxyz") != n)
                return -ENOENT;
        for (size_t i = 0; i < n; i++)
                uid = uid * 31 + (uid_t)(name[i] - 'a');
        *ret_uid = uid % 1000000;
        return 0;
}

static bool address_equal(const policy_address *a, const policy_address *b)
{
        return uoa_addr_equal(&a->addr, &b->addr) && a->shared == b->shared &&
               a->port_lo == b->port_lo && a->port_hi == b->port_hi;
}

static bool slice_equal(const policy_slice *a, const policy_slice *b)
{
        if (a->uid != b->uid || a->n_addrs != b->n_addrs || a->table != b->table ||
            a->n_ifnames != b->n_ifnames || a->raw != b->raw)
                return false;
        for (size_t i = 0; i < a->n_addrs; i++)
                if (!address_equal(&a->addrs[i], &b->addrs[i]))
                        return false;
        for (size_t i = 0; i < a->n_ifnames; i++)
                if (strcmp(a->ifnames[i], b->ifnames[i]) != 0)
                        return false;
        return true;
}

/* Every address of every slice is owned by that slice, and binding it works. */
static void check_lookups(const policy *p)
{
        for (size_t i = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i);

                CHECK(policy_slice_find(p, s->uid) == s);
                CHECK(i == 0 || policy_slice_at(p, i - 1)->uid < s->uid);
                for (size_t j = 0; j < s->n_addrs; j++) {
                        const policy_address *a = &s->addrs[j];
                        uint16_t port = a->shared ? a->port_hi : 80;
                        policy_bind b;
                        bool shared;

                        CHECK(policy_address_owner(p, &a->addr, port, &shared) == s);
                        CHECK(shared == a->shared);
                        CHECK(policy_bind_decide(s, a->addr.family, false, &a->addr, port, 1024, &b) == 0);
                        CHECK(b.port == port);
                        CHECK(policy_source_select(s, &a->addr, NULL, &b) == 0);
                        CHECK(uoa_addr_equal(&b.addr, &a->addr));
                }
        }
}

/* Deleting everything the policy says leaves nothing. */
static void check_delete_all(const policy *p, const char *text)
{
        policy *e = NULL;
        char err[256];

        CHECK(policy_edit(p, false, text, strlen(text), "fuzz", NULL, NULL, &e, err, sizeof(err)) == 0);
        CHECK(policy_slice_count(e) == 0);
        policy_free(e);
}

/* The text cut after its first half's last newline, as a main file and a
 * drop-in: accepted as the same policy (want, canonical), or refused too. */
static void check_split(const char *text, size_t size, const char *want)
{
        const char *nl = size > 1 ? memrchr(text, '\n', size / 2) : NULL;
        size_t cut = nl ? (size_t)(nl - text) + 1 : 0;
        policy_source srcs[] = { { "main", text, cut }, { "main.d/x.conf", text + cut, size - cut } };
        policy *p = NULL;
        char err[512];
        char *t;

        if (policy_parse_sources(srcs, 2, fake_resolve, NULL, &p, err, sizeof(err)) < 0) {
                CHECK(!want);
                CHECK(p == NULL);
                CHECK(strncmp(err, "main", 4) == 0);
                return;
        }
        CHECK(want);
        t = policy_format(p, NULL);
        CHECK(t && strcmp(t, want) == 0);
        free(t);
        policy_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        policy *p = NULL, *q = NULL;
        char err[512];
        char *t1, *t2;

        if (policy_parse((const char *)data, size, "fuzz", fake_resolve, NULL, &p, err, sizeof(err)) < 0) {
                CHECK(p == NULL);
                CHECK(strncmp(err, "fuzz", 4) == 0);
                check_split((const char *)data, size, NULL);
                return 0;
        }
        t1 = policy_format(p, NULL);
        CHECK(t1);
        check_split((const char *)data, size, t1);
        /* Canonical text has numeric uids only: no resolver needed. */
        if (policy_parse(t1, strlen(t1), "canonical", NULL, NULL, &q, err, sizeof(err)) < 0) {
                fprintf(stderr, "canonical text refused: %s\n%s", err, t1);
                abort();
        }
        t2 = policy_format(q, NULL);
        CHECK(t2 && strcmp(t1, t2) == 0);
        CHECK(policy_slice_count(p) == policy_slice_count(q));
        for (size_t i = 0; i < policy_slice_count(p); i++)
                CHECK(slice_equal(policy_slice_at(p, i), policy_slice_at(q, i)));
        check_lookups(p);
        check_delete_all(p, t1);
        free(t1);
        free(t2);
        policy_free(p);
        policy_free(q);
        return 0;
}
