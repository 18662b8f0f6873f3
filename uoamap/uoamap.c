/* uoamap/uoamap.c: uoamap, the policy administration tool: show the
 * served policy (ip-like text or --json), validate a file, and change the
 * policy live (add/del/reload, root only; uoad checks). */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conffiles.h"
#include "common/macro.h"
#include "common/wire.h"
#include "policy/policy.h"

static const char *arg_socket;
static bool arg_json;

/* Per-slice call counters from "show" (after the "%calls" line). */
typedef struct call_count {
        uid_t uid;
        char call[16];
        unsigned long long allowed, refused;
} call_count;
static call_count counts[4096];
static size_t n_counts;

/* Per-slice shaping counters from "show" (after the "%shape" line). */
typedef struct shape_count {
        uid_t uid;
        char dir[8];
        unsigned long long bytes, packets, drops, overlimits;
} shape_count;
static shape_count shapes[4096];
static size_t n_shapes;

static void shapes_parse(const char *text)
{
        while (text && *text && n_shapes < ELEMENTSOF(shapes)) {
                shape_count *c = &shapes[n_shapes];

                if (sscanf(text, "%u %7s %llu %llu %llu %llu", &c->uid, c->dir, &c->bytes, &c->packets, &c->drops,
                           &c->overlimits) == 6)
                        n_shapes++;
                text = strchr(text, '\n');
                if (text)
                        text++;
        }
}

static const shape_count *shape_find(uid_t uid, const char *dir)
{
        for (size_t i = 0; i < n_shapes; i++)
                if (shapes[i].uid == uid && strcmp(shapes[i].dir, dir) == 0)
                        return &shapes[i];
        return NULL;
}

static void counts_parse(const char *text)
{
        while (text && *text && n_counts < ELEMENTSOF(counts)) {
                call_count *c = &counts[n_counts];

                if (sscanf(text, "%u %15s %llu %llu", &c->uid, c->call, &c->allowed, &c->refused) == 4)
                        n_counts++;
                text = strchr(text, '\n');
                if (text)
                        text++;
        }
}

static void usage(FILE *f)
{
        fputs("usage: uoamap [--socket PATH] show [USER] [--json]\n"
              "       uoamap [--socket PATH] status [--json]\n"
              "       uoamap [--socket PATH] add LINE... | del LINE...\n"
              "       uoamap check FILE|DIR\n"
              "       uoamap [--socket PATH] reload\n",
              f);
}

static int resolve_user(const char *name, uid_t *ret_uid, void *userdata)
{
        struct passwd *pw = getpwnam(name);

        (void) userdata;
        if (!pw)
                return -ENOENT;
        *ret_uid = pw->pw_uid;
        return 0;
}

static const char *user_name(uid_t uid)
{
        struct passwd *pw = getpwuid(uid);

        return pw ? pw->pw_name : NULL;
}

static const char *family_word(int family)
{
        return family == AF_INET ? "inet" : "inet6";
}

/* "    calls bind 12 (1 refused) connect 3" */
static void show_text_counts(uid_t uid)
{
        bool first = true;

        for (size_t i = 0; i < n_counts; i++) {
                if (counts[i].uid != uid)
                        continue;
                printf("%s %s %llu", first ? "    calls" : "", counts[i].call, counts[i].allowed + counts[i].refused);
                if (counts[i].refused)
                        printf(" (%llu refused)", counts[i].refused);
                first = false;
        }
        if (!first)
                putchar('\n');
}

/* "    egress sent 1234 bytes 12 packets, 0 dropped, 3 overlimits" */
static void show_text_shape(uid_t uid)
{
        static const char *const dirs[] = { "egress", "ingress" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                const shape_count *c = shape_find(uid, dirs[i]);

                if (c)
                        printf("    %s %s %llu bytes %llu packets, %llu dropped, %llu overlimits\n", dirs[i],
                               i == 0 ? "sent" : "received", c->bytes, c->packets, c->drops, c->overlimits);
        }
}

static void show_text(const policy *p)
{
        char buf[UOA_ADDR_STRLEN];

        for (size_t i = 0; i < policy_slice_count(p); i++) {
                const policy_slice *s = policy_slice_at(p, i);
                const char *name = user_name(s->uid);

                printf("%u: %s", s->uid, name ? name : "?");
                if (s->table)
                        printf(" table %u", s->table);
                if (s->raw)
                        printf(" raw");
                for (size_t j = 0; j < s->n_ifnames; j++)
                        printf("%s%s", j ? "," : " interfaces ", s->ifnames[j]);
                if (s->egress)
                        printf(" egress %s", policy_rate_format(s->egress, buf, sizeof(buf)));
                if (s->ingress)
                        printf(" ingress %s", policy_rate_format(s->ingress, buf, sizeof(buf)));
                putchar('\n');
                for (size_t j = 0; j < s->n_addrs; j++) {
                        const policy_address *a = &s->addrs[j];

                        printf("    %s %s", family_word(a->addr.family),
                               uoa_addr_format(&a->addr, buf, sizeof(buf)));
                        if (a->shared)
                                printf(" ports %u-%u", a->port_lo, a->port_hi);
                        putchar('\n');
                }
                show_text_counts(s->uid);
                show_text_shape(s->uid);
        }
}

/* User names are the only free text; escape them for JSON. */
static void json_string(const char *s)
{
        putchar('"');
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        printf("\\%c", *s);
                else if ((unsigned char) *s < 0x20)
                        printf("\\u%04x", (unsigned char) *s);
                else
                        putchar(*s);
        }
        putchar('"');
}

/* ,"egress":"40mbit","egress_counters":{...} or ,"egress":null */
static void show_json_rate(const char *dir, uid_t uid, uint64_t bps)
{
        const shape_count *c = shape_find(uid, dir);
        char buf[POLICY_RATE_STRLEN];

        if (!bps) {
                printf(",\"%s\":null", dir);
                return;
        }
        printf(",\"%s\":\"%s\",\"%s_counters\":", dir, policy_rate_format(bps, buf, sizeof(buf)), dir);
        if (c)
                printf("{\"bytes\":%llu,\"packets\":%llu,\"drops\":%llu,\"overlimits\":%llu}", c->bytes,
                       c->packets, c->drops, c->overlimits);
        else
                fputs("null", stdout);
}

static void show_json_slice(const policy_slice *s)
{
        const char *name = user_name(s->uid);
        char buf[UOA_ADDR_STRLEN];

        printf("{\"uid\":%u,\"user\":", s->uid);
        if (name)
                json_string(name);
        else
                fputs("null", stdout);
        printf(",\"table\":");
        if (s->table)
                printf("%u", s->table);
        else
                fputs("null", stdout);
        printf(",\"raw\":%s,\"interfaces\":[", s->raw ? "true" : "false");
        for (size_t j = 0; j < s->n_ifnames; j++) {
                if (j)
                        putchar(',');
                json_string(s->ifnames[j]);
        }
        printf("],\"addresses\":[");
        for (size_t j = 0; j < s->n_addrs; j++) {
                const policy_address *a = &s->addrs[j];

                printf("%s{\"family\":\"%s\",\"address\":\"%s\"", j ? "," : "", family_word(a->addr.family),
                       uoa_addr_format(&a->addr, buf, sizeof(buf)));
                if (a->shared)
                        printf(",\"ports\":{\"lo\":%u,\"hi\":%u}", a->port_lo, a->port_hi);
                putchar('}');
        }
        printf("],\"calls\":{");
        for (size_t i = 0, n = 0; i < n_counts; i++)
                if (counts[i].uid == s->uid)
                        printf("%s\"%s\":{\"allowed\":%llu,\"refused\":%llu}", n++ ? "," : "", counts[i].call,
                               counts[i].allowed, counts[i].refused);
        putchar('}');
        show_json_rate("egress", s->uid, s->egress);
        show_json_rate("ingress", s->uid, s->ingress);
        putchar('}');
}

static void show_json(const policy *p)
{
        putchar('[');
        for (size_t i = 0; i < policy_slice_count(p); i++) {
                if (i)
                        putchar(',');
                show_json_slice(policy_slice_at(p, i));
        }
        puts("]");
}

/* One request to uoad; on success *ret_payload (may be NULL) gets the reply. */
static void print_lines(FILE *f, const char *prefix, const char *text)
{
        while (*text) {
                size_t n = strcspn(text, "\n");

                fprintf(f, "%s%.*s\n", prefix, (int) n, text);
                text += n + (text[n] == '\n');
        }
}

static int call(const char *req, size_t len, char **ret_reply, const char **ret_payload)
{
        _cleanup_close_ int fd = -1;
        const char *msg, *payload;
        char *reply;
        size_t rlen;
        int r;

        fd = wire_connect(arg_socket);
        if (fd < 0) {
                fprintf(stderr, "uoamap: uoad is not running (cannot connect to %s: %s)\n", arg_socket,
                        strerror(-fd));
                return 1;
        }
        r = wire_call(fd, req, len, &reply, &rlen);
        if (r < 0) {
                fprintf(stderr, "uoamap: no answer from uoad: %s\n", strerror(-r));
                return 1;
        }
        r = wire_reply_status(reply, &msg, &payload);
        if (r < 0) {
                fprintf(stderr, "uoamap: %s\n", r == -EBADMSG ? "malformed reply from uoad" : msg);
                /* A refused policy's further errors, one a line. */
                print_lines(stderr, "uoamap: ", r == -EBADMSG ? "" : payload);
                free(reply);
                return 1;
        }
        *ret_reply = reply;
        if (ret_payload)
                *ret_payload = payload;
        return 0;
}

static int cmd_show(int argc, char **argv)
{
        _cleanup_free_ char *reply = NULL;
        const char *payload;
        char req[64] = "show", err[512];
        policy *p;
        uid_t uid = 0;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0)
                        arg_json = true;
                else if (strcmp(req, "show") == 0) {
                        char *end;
                        unsigned long v = strtoul(argv[i], &end, 10);

                        if (*argv[i] && !*end)
                                uid = (uid_t) v;
                        else if (resolve_user(argv[i], &uid, NULL) < 0) {
                                fprintf(stderr, "uoamap: unknown user '%s'\n", argv[i]);
                                return 1;
                        }
                        snprintf(req, sizeof(req), "show %u", uid);
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (call(req, strlen(req), &reply, &payload))
                return 1;
        {
                char *marker = strstr(payload, "%shape\n");

                if (marker) {
                        *marker = '\0';
                        shapes_parse(marker + strlen("%shape\n"));
                }
                marker = strstr(payload, "%calls\n");
                if (marker) {
                        *marker = '\0';
                        counts_parse(marker + strlen("%calls\n"));
                }
        }
        if (policy_parse(payload, strlen(payload), "uoad", NULL, NULL, &p, err, sizeof(err)) < 0) {
                fprintf(stderr, "uoamap: cannot read uoad's answer: %s\n", err);
                return 1;
        }
        if (arg_json)
                show_json(p);
        else
                show_text(p);
        policy_free(p);
        return 0;
}

/* `add u00 address 10.0.0.1` (words) is one line; `add "u00 raw" "u01 raw"`
 * (arguments with spaces) is one line per argument. */
static int cmd_edit(const char *verb, int argc, char **argv)
{
        _cleanup_free_ char *req = NULL, *reply = NULL;
        size_t len = strlen(verb) + 1;
        bool words = true;

        if (argc == 0) {
                usage(stderr);
                return 2;
        }
        for (int i = 0; i < argc; i++) {
                len += strlen(argv[i]) + 1;
                words = words && !strpbrk(argv[i], " \t\n");
        }
        if (len > WIRE_REQUEST_MAX) {
                fprintf(stderr, "uoamap: too many lines at once; edit the file and use reload\n");
                return 1;
        }
        req = malloc(len + 1);
        if (!req)
                return 1;
        strcpy(req, verb);
        for (int i = 0; i < argc; i++)
                strcat(strcat(req, i > 0 && words ? " " : "\n"), argv[i]);
        return call(req, strlen(req), &reply, NULL);
}

/* "status": uoad's KEY VALUE lines, as they are or as one JSON object
 * (numbers as numbers). */
static int cmd_status(int argc, char **argv)
{
        _cleanup_free_ char *reply = NULL;
        const char *payload;
        char *line, *save = NULL;
        bool first = true;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--json") != 0) {
                        usage(stderr);
                        return 2;
                }
                arg_json = true;
        }
        if (call("status", strlen("status"), &reply, &payload))
                return 1;
        if (arg_json)
                putchar('{');
        for (line = strtok_r((char *) payload, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *value = strchr(line, ' ');

                if (!value)
                        continue;
                *value++ = '\0';
                if (!arg_json) {
                        printf("%-9s %s\n", line, value);
                        continue;
                }
                printf("%s", first ? "" : ", ");
                json_string(line);
                printf(": ");
                if (strspn(value, "0123456789") == strlen(value))
                        printf("%s", value);
                else
                        json_string(value);
                first = false;
        }
        if (arg_json)
                puts("}");
        return 0;
}

static int cmd_reload(void)
{
        _cleanup_free_ char *reply = NULL;

        return call("reload", strlen("reload"), &reply, NULL);
}

/* The same files, the same validation and the same messages as uoad
 * --config path: path and path.d/ *.conf, or a directory's *.conf. */
static int cmd_check(const char *path)
{
        _cleanup_(conffiles_done) conffiles files = {};
        _cleanup_free_ char *err = malloc(POLICY_ERR_MAX);
        policy *p;

        if (!err)
                return 1;
        if (conffiles_read(path, POLICY_TEXT_MAX, &files, err, POLICY_ERR_MAX) < 0 ||
            policy_parse_conffiles(&files, resolve_user, NULL, &p, err, POLICY_ERR_MAX) < 0) {
                print_lines(stderr, "", err);
                return 1;
        }
        printf("%s: ok, %zu slices", path, policy_slice_count(p));
        if (files.n > 1)
                printf(" (%zu files)", files.n);
        putchar('\n');
        policy_free(p);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' }, { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' }, {}
        };
        const char *verb;
        int c;

        while ((c = getopt_long(argc, argv, "+s:jh", opts, NULL)) >= 0)
                switch (c) {
                case 's': arg_socket = optarg; break;
                case 'j': arg_json = true; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        arg_socket = wire_socket_path(arg_socket);
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
        verb = argv[optind++];
        argc -= optind;
        argv += optind;
        if (strcmp(verb, "show") == 0)
                return cmd_show(argc, argv);
        if (strcmp(verb, "add") == 0 || strcmp(verb, "del") == 0)
                return cmd_edit(verb, argc, argv);
        if (strcmp(verb, "check") == 0 && argc == 1)
                return cmd_check(argv[0]);
        if (strcmp(verb, "status") == 0)
                return cmd_status(argc, argv);
        if (strcmp(verb, "reload") == 0 && argc == 0)
                return cmd_reload();
        usage(stderr);
        return 2;
}
