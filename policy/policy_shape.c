/* policy/policy_shape.c: the shaping plan (policy_shape.h): class numbers,
 * HTB parameters, which interfaces a slice's rates apply on, and the
 * destination keys of incoming traffic. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "policy/policy_shape.h"

#define MINOR_SPAN POLICY_SHAPE_SLICES_MAX /* minors 1..0xfffe */

static void minor_take(uint8_t *used, uint16_t m)
{
        used[m / 8] |= (uint8_t)(1u << (m % 8));
}

static bool minor_used(const uint8_t *used, uint16_t m)
{
        return used[m / 8] & (1u << (m % 8));
}

static bool uid_is_minor(uid_t uid)
{
        return uid >= 1 && uid <= MINOR_SPAN;
}

/* The next free minor from uid % span + 1 on, wrapping within 1..span. */
static uint16_t minor_probe(const uint8_t *used, uid_t uid)
{
        uint32_t m = uid % MINOR_SPAN + 1;

        while (minor_used(used, (uint16_t)m))
                m = m % MINOR_SPAN + 1;
        return (uint16_t)m;
}

int policy_shape_build(const policy *p, policy_shape *ret)
{
        _cleanup_free_ uint8_t *used = calloc(1, 0x10000 / 8);
        policy_shape sh = {};
        size_t n = 0;

        if (!used)
                return -ENOMEM;
        for (size_t i = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i);

                n += s->egress || s->ingress;
        }
        if (n > POLICY_SHAPE_SLICES_MAX)
                return -E2BIG;
        if (n > 0 && !(sh.v = calloc(n, sizeof(*sh.v))))
                return -ENOMEM;
        for (size_t i = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i);

                if (!s->egress && !s->ingress)
                        continue;
                sh.v[sh.n++] = (policy_shape_slice){ .slice = s };
                if (uid_is_minor(s->uid)) {
                        sh.v[sh.n - 1].minor = (uint16_t)s->uid;
                        minor_take(used, (uint16_t)s->uid);
                }
        }
        /* Uids that cannot be their own minor take what is left, in uid order. */
        for (size_t i = 0; i < sh.n; i++)
                if (!sh.v[i].minor) {
                        sh.v[i].minor = minor_probe(used, sh.v[i].slice->uid);
                        minor_take(used, sh.v[i].minor);
                }
        *ret = sh;
        return 0;
}

void policy_shape_done(policy_shape *sh)
{
        free(sh->v);
        *sh = (policy_shape){};
}

const policy_shape_slice *policy_shape_find_minor(const policy_shape *sh, uint16_t minor)
{
        for (size_t i = 0; i < sh->n; i++)
                if (sh->v[i].minor == minor)
                        return &sh->v[i];
        return NULL;
}

bool policy_shape_interface_exempt(const char *ifname)
{
        return strcmp(ifname, "lo") == 0 ||
               strncmp(ifname, POLICY_SHAPE_IFB_PREFIX, strlen(POLICY_SHAPE_IFB_PREFIX)) == 0;
}

bool policy_shape_on_interface(const policy_slice *s, const char *ifname)
{
        if (policy_shape_interface_exempt(ifname))
                return false;
        return policy_slice_may_use_interface(s, ifname);
}

void policy_shape_htb_params(uint64_t bps, policy_shape_htb *ret)
{
        uint64_t rate = bps / 8, burst = rate / 100, quantum = rate / 10;

        if (rate == 0)
                rate = 1;
        /* Four 64 KiB GSO packets: below that a class loses its tokens to
         * one super-packet and TCP stalls under the rate. */
        if (burst < 4 * 65536)
                burst = 4 * 65536;
        if (burst > 64u << 20)
                burst = 64u << 20;
        /* HTB's sane range: an MTU-sized packet at least, 200000 at most. */
        if (quantum < 1514)
                quantum = 1514;
        if (quantum > 200000)
                quantum = 200000;
        *ret = (policy_shape_htb){ .rate = rate, .burst = (uint32_t)burst, .quantum = (uint32_t)quantum };
}

size_t policy_shape_classes(const policy_shape *sh, const char *ifname, bool ingress,
                            policy_shape_class_fn emit, void *userdata)
{
        size_t n = 0;

        for (size_t i = 0; i < sh->n; i++) {
                const policy_slice *s = sh->v[i].slice;
                uint64_t bps = ingress ? s->ingress : s->egress;

                if (!bps || !policy_shape_on_interface(s, ifname))
                        continue;
                if (emit)
                        emit(&sh->v[i], bps, userdata);
                n++;
        }
        return n;
}

size_t policy_shape_port_blocks(uint16_t lo, uint16_t hi, uint16_t ret_port[32], uint16_t ret_mask[32])
{
        uint32_t p = lo, end = (uint32_t)hi + 1;
        size_t n = 0;

        while (p < end) {
                uint32_t size = 1;

                /* The largest aligned block starting at p that ends by hi. */
                while (size < 0x10000 && (p & (2 * size - 1)) == 0 && p + 2 * size <= end)
                        size *= 2;
                ret_port[n] = (uint16_t)p;
                ret_mask[n] = (uint16_t)~(size - 1);
                n++;
                p += size;
        }
        return n;
}

size_t policy_shape_keys(const policy_shape_slice *ss, policy_shape_key_fn emit, void *userdata)
{
        const policy_slice *s = ss->slice;
        size_t n = 0;

        for (size_t i = 0; i < s->n_addrs; i++) {
                const policy_address *a = &s->addrs[i];
                uint16_t port[32], mask[32];
                size_t nb;

                if (!a->shared) {
                        if (emit)
                                emit(ss, &(policy_shape_key){ .addr = a->addr }, userdata);
                        n++;
                        continue;
                }
                nb = policy_shape_port_blocks(a->port_lo, a->port_hi, port, mask);
                for (size_t j = 0; j < nb; j++)
                        if (emit)
                                emit(ss, &(policy_shape_key){ .addr = a->addr, .port = port[j], .port_mask = mask[j] },
                                     userdata);
                n += nb;
        }
        return n;
}
