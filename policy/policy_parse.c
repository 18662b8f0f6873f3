/* policy/policy_parse.c: the policy line syntax of docs/design.md §3, turned into
 * normalised assignments, and the two ways to build a policy from text:
 * policy_parse_sources() (the files) and policy_edit() (uoamap add/del).
 * A bad line is reported and skipped, and reading goes on: every error of
 * the text is reported, and nothing is built. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/conffiles.h"
#include "policy/policy_internal.h"

_Static_assert(sizeof(uid_t) == 4, "uid_t is expected to be 32 bits");

/* USER address IP ports LO-HI is the longest line: five words. */
#define LINE_WORDS_MAX 5u
#define REASON_MAX (POLICY_LINE_MAX + 256u)
/* Longest FILE in a message, and the line number after it. */
#define PATH_MAX_MSG 4120u

/* Room kept at the end of err for "(N more errors not shown)". */
#define ERR_TRAILER_MAX 48u

typedef struct line_ctx {
        const char *name;         /* FILE or LABEL of the error messages */
        unsigned src;             /* index of that text (policy_assign.src) */
        policy_user_resolver resolve;
        void *userdata;
        char *err;
        size_t errlen;
        size_t err_used;          /* bytes of err written, without the NUL */
        unsigned dropped;         /* errors that did not fit */
        /* The last name resolved: files group a user's lines, and a
         * resolver may scan /etc/passwd on every call. */
        bool have_last;
        uid_t last_uid;
        char last_name[POLICY_LINE_MAX + 1];
} line_ctx;

/* Called with each assignment line; returns <0 with reason filled to stop. */
typedef int (*line_fn)(const policy_assign *a, void *userdata, char *reason, size_t len);

static bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

/* Append one error line to err; the first always goes in (truncated if it
 * must), later ones only while the trailer still fits after them. */
static void err_append(line_ctx *c, const char *msg)
{
        size_t n = strlen(msg), sep = c->err_used > 0;

        if (!c->err || c->errlen == 0)
                return;
        if (c->err_used == 0) {
                snprintf(c->err, c->errlen, "%s", msg);
                c->err_used = strlen(c->err);
        } else if (c->dropped == 0 && c->err_used + sep + n + ERR_TRAILER_MAX < c->errlen) {
                c->err[c->err_used] = '\n';
                memcpy(c->err + c->err_used + 1, msg, n + 1);
                c->err_used += 1 + n;
        } else
                c->dropped++;
}

static void err_finish(line_ctx *c)
{
        if (c->dropped > 0 && c->err_used + 1 < c->errlen)
                snprintf(c->err + c->err_used, c->errlen - c->err_used, "\n(%u more errors not shown)",
                         c->dropped);
}

static _printf_(3, 4) void err_set(line_ctx *c, unsigned line, const char *fmt, ...)
{
        char reason[REASON_MAX], msg[REASON_MAX + PATH_MAX_MSG];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        if (line > 0)
                snprintf(msg, sizeof(msg), "%s:%u: %s", c->name, line, reason);
        else
                snprintf(msg, sizeof(msg), "%s: %s", c->name, reason);
        err_append(c, msg);
}

/* Decimal digits only (no sign, no hex), at most max. */
static int parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
        uint64_t v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t)(*s - '0');
                if (v > max)
                        return -ERANGE;
        }
        *ret = v;
        return 0;
}

static bool all_digits(const char *s)
{
        return *s && strspn(s, "0123456789") == strlen(s);
}

static int parse_user(line_ctx *c, const char *w, uid_t *ret, char *reason, size_t len)
{
        uint64_t v;
        uid_t uid;

        if (all_digits(w)) {
                /* (uid_t)-1 means "no uid" to setreuid() and chown(): never a slice. */
                if (parse_uint(w, (uid_t)-1 - 1, &v) < 0) {
                        snprintf(reason, len, "bad uid '%s'", w);
                        return -EINVAL;
                }
                *ret = (uid_t)v;
                return 0;
        }
        if (c->have_last && streq(c->last_name, w)) {
                *ret = c->last_uid;
                return 0;
        }
        if (!c->resolve || c->resolve(w, &uid, c->userdata) < 0 || uid == (uid_t)-1) {
                snprintf(reason, len, "unknown user '%s'", w);
                return -EINVAL;
        }
        snprintf(c->last_name, sizeof(c->last_name), "%s", w);
        c->last_uid = uid;
        c->have_last = true;
        *ret = uid;
        return 0;
}

/* Why a slice can never use a, or NULL: the address must be a unicast one
 * a host can own. */
static const char *addr_unassignable(const uoa_addr *a)
{
        if (uoa_addr_is_any(a))
                return "unspecified";
        if (uoa_addr_is_loopback(a))
                return "loopback";
        if (a->family == AF_INET) {
                if ((a->bytes[0] & 0xf0) == 0xe0)
                        return "multicast";
                if (a->v4.s_addr == INADDR_BROADCAST)
                        return "broadcast";
                return NULL;
        }
        if (IN6_IS_ADDR_MULTICAST(&a->v6))
                return "multicast";
        if (IN6_IS_ADDR_V4MAPPED(&a->v6))
                return "IPv4-mapped, use the IPv4 address";
        return NULL;
}

static int parse_port_range(const char *w, uint16_t *ret_lo, uint16_t *ret_hi)
{
        char buf[16];
        const char *dash = strchr(w, '-');
        uint64_t lo, hi;
        size_t n;

        if (!dash || strlen(w) >= sizeof(buf))
                return -EINVAL;
        n = (size_t)(dash - w);
        memcpy(buf, w, n);
        buf[n] = 0;
        if (parse_uint(buf, 65535, &lo) < 0 || parse_uint(dash + 1, 65535, &hi) < 0)
                return -EINVAL;
        if (lo < 1 || lo > hi)
                return -EINVAL;
        *ret_lo = (uint16_t)lo;
        *ret_hi = (uint16_t)hi;
        return 0;
}

static int parse_address(char **w, size_t n, policy_assign *a, char *reason, size_t len)
{
        const char *why;

        if (n < 1) {
                snprintf(reason, len, "missing address after 'address'");
                return -EINVAL;
        }
        if (uoa_addr_parse(w[0], &a->addr.addr) < 0) {
                snprintf(reason, len, "malformed address '%s'", w[0]);
                return -EINVAL;
        }
        why = addr_unassignable(&a->addr.addr);
        if (why) {
                snprintf(reason, len, "address %s cannot be assigned (%s)", w[0], why);
                return -EINVAL;
        }
        if (n == 1)
                return 0;
        if (!streq(w[1], "ports")) {
                snprintf(reason, len, "trailing garbage '%s'", w[1]);
                return -EINVAL;
        }
        if (n < 3) {
                snprintf(reason, len, "missing port range after 'ports'");
                return -EINVAL;
        }
        if (parse_port_range(w[2], &a->addr.port_lo, &a->addr.port_hi) < 0) {
                snprintf(reason, len, "bad port range '%s'", w[2]);
                return -EINVAL;
        }
        a->addr.shared = true;
        return 0;
}

static int parse_table(char **w, size_t n, policy_assign *a, char *reason, size_t len)
{
        uint64_t v;

        if (n < 1) {
                snprintf(reason, len, "missing table id after 'table'");
                return -EINVAL;
        }
        if (parse_uint(w[0], UINT32_MAX, &v) < 0 || v == 0) {
                snprintf(reason, len, "bad table '%s' (1-4294967295)", w[0]);
                return -EINVAL;
        }
        /* 253 default, 254 main, 255 local: the host's own tables. */
        if (v >= 253 && v <= 255) {
                snprintf(reason, len, "table %u is reserved (253-255)", (unsigned)v);
                return -EINVAL;
        }
        a->table = (uint32_t)v;
        return 0;
}

/* The kernel's dev_valid_name(): 1..15 bytes, not "." or "..", no '/',
 * ':' or kernel-isspace() byte (which includes 0xa0). Stricter: no quote,
 * backslash or control byte either, since names go into nft and JSON text. */
static bool ifname_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n >= POLICY_IFNAME_MAX || streq(s, ".") || streq(s, ".."))
                return false;
        for (; *s; s++)
                if (strchr("/: \t\n\v\f\r\"\\", *s) || (uint8_t)*s == 0xa0 || (uint8_t)*s < 0x20 ||
                    (uint8_t)*s == 0x7f)
                        return false;
        return true;
}

static int parse_interface(char **w, size_t n, policy_assign *a, char *reason, size_t len)
{
        if (n < 1) {
                snprintf(reason, len, "missing interface name after 'interface'");
                return -EINVAL;
        }
        if (!ifname_valid(w[0])) {
                snprintf(reason, len, "bad interface name '%s'", w[0]);
                return -EINVAL;
        }
        memcpy(a->ifname, w[0], strlen(w[0]) + 1);
        return 0;
}

/* tc's rate units (1000-based, as tc's "kbit"); the longest suffix first
 * so "kbit" is not read as "bit". */
static int parse_rate_value(const char *w, uint64_t *ret)
{
        static const struct { const char *unit; uint64_t mult; } units[] = {
                { "gbit", 1000000000ull }, { "mbit", 1000000ull }, { "kbit", 1000ull }, { "bit", 1 },
        };
        size_t digits = strspn(w, "0123456789");
        char num[24];
        uint64_t v;

        if (digits == 0 || digits >= sizeof(num))
                return -EINVAL;
        memcpy(num, w, digits);
        num[digits] = 0;
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (!streq(w + digits, units[i].unit))
                        continue;
                if (parse_uint(num, POLICY_RATE_MAX / units[i].mult, &v) < 0)
                        return -ERANGE;
                *ret = v * units[i].mult;
                return 0;
        }
        return -EINVAL;
}

static int parse_rate(char **w, size_t n, const char *kw, policy_assign *a, char *reason, size_t len)
{
        int r;

        if (n < 1) {
                snprintf(reason, len, "missing rate after '%s' (e.g. 40mbit)", kw);
                return -EINVAL;
        }
        r = parse_rate_value(w[0], &a->rate);
        if (r == -EINVAL) {
                snprintf(reason, len, "bad rate '%s' (a whole number and bit, kbit, mbit or gbit, e.g. 40mbit)",
                         w[0]);
                return r;
        }
        if (r < 0 || a->rate > POLICY_RATE_MAX) {
                snprintf(reason, len, "rate '%s' is too high (at most 1000gbit)", w[0]);
                return -EINVAL;
        }
        if (a->rate == 0) {
                snprintf(reason, len, "rate '%s' is zero (a slice without a '%s' line is not shaped)", w[0], kw);
                return -EINVAL;
        }
        if (a->rate < POLICY_RATE_MIN) {
                snprintf(reason, len, "rate '%s' is too low (at least 8bit)", w[0]);
                return -EINVAL;
        }
        return 0;
}

/* Words of one line (comment stripped) to an assignment. */
static int parse_words(line_ctx *c, char **w, size_t n, policy_assign *ret,
                       char *reason, size_t len)
{
        policy_assign a = {};
        size_t used;
        int r;

        r = parse_user(c, w[0], &a.uid, reason, len);
        if (r < 0)
                return r;
        if (n < 2) {
                snprintf(reason, len, "missing keyword after '%s' (address, table, interface, raw, egress or ingress)", w[0]);
                return -EINVAL;
        }
        if (streq(w[1], "address")) {
                a.kind = ASSIGN_ADDRESS;
                r = parse_address(w + 2, n - 2, &a, reason, len);
                used = a.addr.shared ? 5 : 3;
        } else if (streq(w[1], "table")) {
                a.kind = ASSIGN_TABLE;
                r = parse_table(w + 2, n - 2, &a, reason, len);
                used = 3;
        } else if (streq(w[1], "interface")) {
                a.kind = ASSIGN_INTERFACE;
                r = parse_interface(w + 2, n - 2, &a, reason, len);
                used = 3;
        } else if (streq(w[1], "raw")) {
                a.kind = ASSIGN_RAW;
                used = 2;
        } else if (streq(w[1], "egress") || streq(w[1], "ingress")) {
                a.kind = streq(w[1], "egress") ? ASSIGN_EGRESS : ASSIGN_INGRESS;
                r = parse_rate(w + 2, n - 2, w[1], &a, reason, len);
                used = 3;
        } else {
                snprintf(reason, len, "unknown keyword '%s'", w[1]);
                return -EINVAL;
        }
        if (r < 0)
                return r;
        if (n > used) {
                snprintf(reason, len, "trailing garbage '%s'", w[used]);
                return -EINVAL;
        }
        *ret = a;
        return 0;
}

/* Split buf in place into at most max words; returns the count, which is
 * max + 1 when there are more words (the extra one is w[max]). */
static size_t split_words(char *buf, char **w, size_t max)
{
        size_t n = 0;
        char *hash = strchr(buf, '#');

        if (hash)
                *hash = 0;
        for (char *s = buf;;) {
                s += strspn(s, " \t\r");
                if (!*s)
                        return n;
                w[n++] = s;
                s += strcspn(s, " \t\r");
                if (*s)
                        *s++ = 0;
                if (n > max)
                        return n;
        }
}

static int handle_line(line_ctx *c, const char *line, size_t n, unsigned no,
                       line_fn fn, void *userdata)
{
        char buf[POLICY_LINE_MAX + 1], reason[REASON_MAX];
        char *w[LINE_WORDS_MAX + 1];
        policy_assign a;
        size_t nw;
        int r;

        if (n > POLICY_LINE_MAX) {
                err_set(c, no, "line is longer than %u bytes", POLICY_LINE_MAX);
                return -EINVAL;
        }
        if (memchr(line, 0, n)) {
                err_set(c, no, "NUL byte in line");
                return -EINVAL;
        }
        memcpy(buf, line, n);
        buf[n] = 0;
        nw = split_words(buf, w, LINE_WORDS_MAX);
        if (nw == 0)
                return 0;
        /* A sixth word, if any, is in w[5]: parse_words() reports the
         * first word its keyword does not use as trailing garbage. */
        r = parse_words(c, w, nw, &a, reason, sizeof(reason));
        if (r >= 0) {
                a.src = c->src;
                a.line = no;
                r = fn(&a, userdata, reason, sizeof(reason));
        }
        if (r < 0)
                err_set(c, no, "%s", reason);
        return r;
}

/* Every line of text to fn; a refused line is reported and skipped. Returns
 * the first error (reading stops only when out of memory), or 0. */
static int foreach_line(line_ctx *c, const char *text, size_t len, line_fn fn, void *userdata)
{
        unsigned no = 0;
        int first = 0;

        if (len > POLICY_TEXT_MAX) {
                err_set(c, 0, "policy text is larger than %u bytes", POLICY_TEXT_MAX);
                return -E2BIG;
        }
        for (size_t pos = 0; pos < len;) {
                const char *start = text + pos;
                const char *nl = memchr(start, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - start) : len - pos;
                int r;

                pos += n + (nl ? 1 : 0);
                r = handle_line(c, start, n, ++no, fn, userdata);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && first == 0)
                        first = r;
        }
        return first;
}

static int add_line(const policy_assign *a, void *userdata, char *reason, size_t len)
{
        return policy_builder_add(userdata, a, reason, len);
}

static int build_finish(line_ctx *c, policy_builder *b, policy **ret)
{
        int r = policy_builder_finish(b, ret);

        if (r < 0)
                err_set(c, 0, "out of memory");
        return r;
}

static int sources_size(const policy_source *srcs, size_t n, size_t *ret)
{
        size_t total = 0;

        for (size_t i = 0; i < n; i++) {
                if (!srcs[i].text && srcs[i].len > 0)
                        return -EINVAL;
                if (srcs[i].len > POLICY_TEXT_MAX - total)
                        return -E2BIG;
                total += srcs[i].len;
        }
        *ret = total;
        return 0;
}

/* Each text's lines in turn to the builder; the first error, or 0. */
static int sources_add(line_ctx *c, const policy_source *srcs, size_t n, policy_builder *b)
{
        int first = 0;

        for (size_t i = 0; i < n; i++) {
                int r;

                c->name = srcs[i].name ? srcs[i].name : "policy";
                c->src = (unsigned)i;
                r = foreach_line(c, srcs[i].text, srcs[i].len, add_line, b);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && first == 0)
                        first = r;
        }
        return first;
}

int policy_parse_sources(const policy_source *srcs, size_t n,
                         policy_user_resolver resolve, void *userdata,
                         policy **ret, char *err, size_t errlen)
{
        line_ctx c = { .name = n > 0 && srcs[0].name ? srcs[0].name : "policy", .resolve = resolve,
                       .userdata = userdata, .err = err, .errlen = errlen };
        policy_builder *b;
        size_t total;
        int r;

        if (!ret || (!srcs && n > 0))
                return -EINVAL;
        if (err && errlen > 0)
                err[0] = 0;
        r = sources_size(srcs, n, &total);
        if (r == -E2BIG)
                err_set(&c, 0, "policy text is larger than %u bytes", POLICY_TEXT_MAX);
        if (r < 0)
                return r;
        b = policy_builder_new();
        if (!b) {
                err_set(&c, 0, "out of memory");
                return -ENOMEM;
        }
        policy_builder_sources(b, srcs, n);
        r = sources_add(&c, srcs, n, b);
        if (r < 0) {
                err_finish(&c);
                policy_builder_free(b);
                return r;
        }
        return build_finish(&c, b, ret);
}

int policy_parse(const char *text, size_t len, const char *filename,
                 policy_user_resolver resolve, void *userdata,
                 policy **ret, char *err, size_t errlen)
{
        policy_source src = { .name = filename, .text = text, .len = len };

        return policy_parse_sources(&src, 1, resolve, userdata, ret, err, errlen);
}

int policy_parse_conffiles(const struct conffiles *files,
                           policy_user_resolver resolve, void *userdata,
                           policy **ret, char *err, size_t errlen)
{
        _cleanup_free_ policy_source *srcs = calloc(files->n + 1, sizeof(*srcs));

        if (!srcs) {
                if (err && errlen > 0)
                        snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        for (size_t i = 0; i < files->n; i++)
                srcs[i] = (policy_source){ .name = files->files[i].path, .text = files->files[i].text,
                                           .len = files->files[i].len };
        return policy_parse_sources(srcs, files->n, resolve, userdata, ret, err, errlen);
}

/* ---- edits ------------------------------------------------------------------------------ */

typedef struct del_ctx {
        const policy *old;
        pindex keys;              /* assignment identity -> old->assigns[] */
        bool *gone;               /* old->assigns[i] is deleted */
} del_ctx;

typedef struct del_key {
        const policy *old;
        const policy_assign *a;
} del_key;

static bool del_key_eq(const void *ctx, uint32_t idx)
{
        const del_key *k = ctx;

        return policy_assign_same_key(&k->old->assigns[idx], k->a);
}

static int del_line(const policy_assign *a, void *userdata, char *reason, size_t len)
{
        del_ctx *d = userdata;
        del_key k = { d->old, a };
        char line[POLICY_ASSIGN_STRLEN];
        uint32_t i;

        i = pindex_find(&d->keys, policy_assign_key_hash(a), del_key_eq, &k);
        if (i != PINDEX_NONE && !d->gone[i] && policy_assign_equal(&d->old->assigns[i], a)) {
                d->gone[i] = true;
                return 0;
        }
        policy_assign_format(a, line, sizeof(line));
        snprintf(reason, len, "no such assignment: %s", line);
        return -ENOENT;
}

static int del_ctx_init(del_ctx *d, const policy *old)
{
        *d = (del_ctx){ .old = old };
        if (old->n_assigns == 0)
                return 0;
        d->gone = calloc(old->n_assigns, sizeof(*d->gone));
        if (!d->gone)
                return -ENOMEM;
        for (size_t i = 0; i < old->n_assigns; i++) {
                int r = pindex_insert(&d->keys, policy_assign_key_hash(&old->assigns[i]), (uint32_t)i);

                if (r < 0)
                        return r;
        }
        return 0;
}

static void del_ctx_done(del_ctx *d)
{
        pindex_done(&d->keys);
        free(d->gone);
}

/* Feed old's assignments (except deleted ones) to b. They were validated
 * when old was built; their line numbers belong to another text: drop them. */
static int builder_add_old(policy_builder *b, const policy *old, const bool *gone, line_ctx *c)
{
        char reason[REASON_MAX];

        for (size_t i = 0; i < old->n_assigns; i++) {
                policy_assign a = old->assigns[i];
                int r;

                if (gone && gone[i])
                        continue;
                a.line = 0;
                r = policy_builder_add(b, &a, reason, sizeof(reason));
                if (r < 0) {
                        err_set(c, 0, "current policy: %s", reason);
                        return r;
                }
        }
        return 0;
}

int policy_edit(const policy *old, bool add, const char *text, size_t len,
                const char *label, policy_user_resolver resolve, void *userdata,
                policy **ret, char *err, size_t errlen)
{
        line_ctx c = { .name = label ? label : "edit", .resolve = resolve,
                       .userdata = userdata, .err = err, .errlen = errlen };
        static const policy empty = {};
        policy_builder *b = NULL;
        del_ctx d = {};
        int r;

        if (!ret || (!text && len > 0))
                return -EINVAL;
        if (!old)
                old = &empty;
        if (err && errlen > 0)
                err[0] = 0;
        if (!add) {
                r = del_ctx_init(&d, old);
                if (r >= 0)
                        r = foreach_line(&c, text, len, del_line, &d);
                else
                        err_set(&c, 0, "out of memory");
                if (r < 0)
                        goto out;
        }
        b = policy_builder_new();
        if (!b) {
                err_set(&c, 0, "out of memory");
                r = -ENOMEM;
                goto out;
        }
        r = builder_add_old(b, old, d.gone, &c);
        if (r >= 0 && add)
                r = foreach_line(&c, text, len, add_line, b);
        if (r >= 0)
                r = build_finish(&c, TAKE_PTR(b), ret);
out:
        if (r < 0)
                err_finish(&c);
        policy_builder_free(b);
        del_ctx_done(&d);
        return r;
}
