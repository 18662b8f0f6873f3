/* common/wire.c: parsing and client helpers for the control protocol (wire.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/grow.h"
#include "common/macro.h"
#include "common/wire.h"

static const char *const verbs[_WIRE_VERB_MAX] = {
        [WIRE_REGISTER] = "register",
        [WIRE_SHOW] = "show",
        [WIRE_ADD] = "add",
        [WIRE_DEL] = "del",
        [WIRE_RELOAD] = "reload",
        [WIRE_NETLINK] = "netlink",
        [WIRE_STATUS] = "status",
        [WIRE_TRAPS] = "traps",
};

/* Parse a decimal number of at most max, ending at a space, newline or end. */
static int parse_number(const char **p, const char *end, unsigned long long max,
                        unsigned long long *ret)
{
        unsigned long long v = 0;
        const char *s = *p;

        if (s >= end || *s < '0' || *s > '9')
                return -EINVAL;
        for (; s < end && *s >= '0' && *s <= '9'; s++) {
                v = v * 10 + (unsigned) (*s - '0');
                if (v > max)
                        return -EINVAL;
        }
        *p = s;
        *ret = v;
        return 0;
}

static int parse_args(wire_request *r, const char *p, const char *end)
{
        unsigned long long v;

        if (r->verb == WIRE_ADD || r->verb == WIRE_DEL) {
                if (p < end && *p++ != '\n')
                        return -EINVAL;
                r->body = p;
                r->body_len = (size_t) (end - p);
                return r->body_len > 0 ? 0 : -EINVAL;
        }
        if (r->verb == WIRE_REGISTER || r->verb == WIRE_TRAPS || (r->verb == WIRE_SHOW && p < end && *p == ' ')) {
                if (p >= end || *p++ != ' ' || parse_number(&p, end, (uid_t) -1 - 1, &v) < 0)
                        return -EINVAL;
                r->uid = (uid_t) v;
                r->has_uid = 1;
        }
        if (r->verb == WIRE_REGISTER) {
                if (p >= end || *p++ != ' ' || parse_number(&p, end, 1u << 30, &v) < 0)
                        return -EINVAL;
                r->fd = (int) v;
        }
        if (p < end && *p == '\n')
                p++;
        return p == end ? 0 : -EINVAL;
}

int wire_request_parse(const char *buf, size_t len, wire_request *ret)
{
        wire_request r = { .fd = -1 };

        if (len > WIRE_REQUEST_MAX)
                return -E2BIG;
        if (memchr(buf, '\0', len))
                return -EINVAL;
        for (r.verb = 0; r.verb < _WIRE_VERB_MAX; r.verb++) {
                size_t n = strlen(verbs[r.verb]);

                if (len >= n && memcmp(buf, verbs[r.verb], n) == 0 &&
                    (len == n || buf[n] == ' ' || buf[n] == '\n'))
                        break;
        }
        if (r.verb == _WIRE_VERB_MAX)
                return -EINVAL;
        if (parse_args(&r, buf + strlen(verbs[r.verb]), buf + len) < 0)
                return -EINVAL;
        *ret = r;
        return 0;
}

int wire_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

int wire_call(int fd, const char *req, size_t len, char **ret_reply, size_t *ret_len)
{
        _cleanup_free_ char *buf = NULL;
        size_t used = 0, size = 0;

        if (len > WIRE_REQUEST_MAX)
                return -E2BIG;
        /* write(), not send(): uoa-run calls this under its own seccomp filter,
         * which traps the send family but never plain reads and writes. */
        if (write(fd, req, len) != (ssize_t) len)
                return negative_errno();
        for (;;) {
                ssize_t n;

                /* Room for a chunk and the NUL: a long reply ("show" of
                 * a large policy) costs a few reallocations, not one per
                 * 128 KiB. */
                if (GROW(buf, size, used + WIRE_CHUNK + 1, 4 * WIRE_CHUNK) < 0)
                        return -ENOMEM;
                n = read(fd, buf + used, WIRE_CHUNK);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                used += (size_t) n;
        }
        if (!buf)
                return -EBADMSG;
        buf[used] = '\0';
        *ret_len = used;
        *ret_reply = TAKE_PTR(buf);
        return 0;
}

int wire_reply_status(char *reply, const char **ret_msg, const char **ret_payload)
{
        char *nl = strchr(reply, '\n'), *end;
        long e;

        if (!nl)
                return -EBADMSG;
        *nl = '\0';
        *ret_payload = nl + 1;
        if (strcmp(reply, "ok") == 0) {
                *ret_msg = "";
                return 0;
        }
        if (strncmp(reply, "error ", 6) != 0)
                return -EBADMSG;
        e = strtol(reply + 6, &end, 10);
        if (e <= 0 || e > 4095 || *end != ' ')
                return -EBADMSG;
        *ret_msg = end + 1;
        return (int) -e;
}
