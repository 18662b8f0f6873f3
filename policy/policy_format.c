/* policy/policy_format.c: a policy back to canonical policy text (numeric
 * uids, canonical addresses, assignment order), as `uoamap show` prints it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_internal.h"

const char *policy_rate_format(uint64_t bps, char *buf, size_t len)
{
        static const char *const units[] = { "gbit", "mbit", "kbit" };
        uint64_t div = 1000000000ull;

        for (size_t i = 0; i < ELEMENTSOF(units); i++, div /= 1000)
                if (bps >= div && bps % div == 0) {
                        snprintf(buf, len, "%llu%s", (unsigned long long)(bps / div), units[i]);
                        return buf;
                }
        snprintf(buf, len, "%llubit", (unsigned long long)bps);
        return buf;
}

void policy_assign_format(const policy_assign *a, char *buf, size_t len)
{
        char abuf[UOA_ADDR_STRLEN];
        unsigned uid = (unsigned)a->uid;

        switch (a->kind) {
        case ASSIGN_ADDRESS:
                uoa_addr_format(&a->addr.addr, abuf, sizeof(abuf));
                if (a->addr.shared)
                        snprintf(buf, len, "%u address %s ports %u-%u", uid, abuf,
                                 a->addr.port_lo, a->addr.port_hi);
                else
                        snprintf(buf, len, "%u address %s", uid, abuf);
                break;
        case ASSIGN_TABLE:
                snprintf(buf, len, "%u table %u", uid, (unsigned)a->table);
                break;
        case ASSIGN_INTERFACE:
                snprintf(buf, len, "%u interface %.*s", uid, (int)POLICY_IFNAME_MAX - 1, a->ifname);
                break;
        case ASSIGN_EGRESS:
        case ASSIGN_INGRESS:
                snprintf(buf, len, "%u %s %s", uid, a->kind == ASSIGN_EGRESS ? "egress" : "ingress",
                         policy_rate_format(a->rate, abuf, sizeof(abuf)));
                break;
        default:
                snprintf(buf, len, "%u raw", uid);
                break;
        }
}

char *policy_format(const policy *p, const uid_t *only_uid)
{
        size_t n = p ? p->n_assigns : 0, pos = 0;
        char *out;

        if (n > (SIZE_MAX - 1) / POLICY_ASSIGN_STRLEN)
                return NULL;
        out = malloc(n * POLICY_ASSIGN_STRLEN + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                const policy_assign *a = &p->assigns[i];

                if (only_uid && a->uid != *only_uid)
                        continue;
                policy_assign_format(a, out + pos, POLICY_ASSIGN_STRLEN);
                pos += strlen(out + pos);
                out[pos++] = '\n';
        }
        out[pos] = 0;
        return out;
}
