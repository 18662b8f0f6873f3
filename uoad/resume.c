/* uoad/resume.c: upgrade in place. SIGUSR2 re-executes the binary now at
 * uoad's path and hands the new image every running session: the seccomp
 * listeners, the proxied netlink sockets, the control socket and its
 * waiting connections, the served policy (live `uoamap add/del` included)
 * and the counters. The kernel engine needs nothing: its programs and
 * socket maps are pinned, and the new image takes them over as any
 * restarted uoad does (engine_bpf.c); the guard is reapplied as a diff
 * (same policy: no change).
 *
 * How: the fds are inherited across execve (their FD_CLOEXEC cleared just
 * before), and a memfd describes them, one line each ("listener FD UID
 * PID", ...), its number given as `--resume FD`. Before anything is handed
 * over, the notification workers are drained: no notification is half
 * served (received, not answered) at the exec, since a new image could
 * never answer it. The old image stays when the new one cannot start: the
 * binary is first run with `--resume-check FD` on the same state and must
 * accept it; if it does not, or execve fails, uoad logs why and goes on
 * serving. A re-exec is also refused while a call of a slice is stalled in
 * uoad (its file system does not answer): the exec would lose it, and a
 * thread blocked in a FUSE request cannot be killed until it is answered,
 * so execve itself would wait. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/grow.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/strbuf.h"
#include "uoad/caller.h"
#include "uoad/control.h"
#include "uoad/holder.h"
#include "uoad/notify.h"
#include "uoad/notify_worker.h"
#include "uoad/relay.h"
#include "uoad/resume.h"
#include "uoad/stats.h"
#include "uoad/uoad.h"

#define STATE_MAGIC "uoad-state 1\n"
#define DRAIN_TIMEOUT_MS 1000
#define CHECK_TIMEOUT_MS 5000
#define STATE_MAX (64u << 20)

int resume_init(uoad *d, int argc, char **argv)
{
        resume_exe *x = &d->resume;
        ssize_t n = readlink("/proc/self/exe", x->path, sizeof(x->path) - 1);

        if (n < 0)
                return negative_errno();
        x->path[n] = '\0';
        x->argv = calloc((size_t) argc + 3, sizeof(char *));
        if (!x->argv)
                return -ENOMEM;
        for (int i = 0; i < argc; i++) {
                if ((strcmp(argv[i], "--resume") == 0 || strcmp(argv[i], "--resume-check") == 0) && i + 1 < argc) {
                        i++;
                        continue;
                }
                x->argv[x->argc++] = argv[i];
        }
        return 0;
}

/* ---- writing the state ------------------------------------------------------ */
typedef struct handover {
        strbuf b;
        int *fds; /* every fd handed over, to clear (and on failure restore) FD_CLOEXEC */
        size_t n_fds, cap_fds;
        bool failed;
} handover;

static void hand_fd(handover *h, int fd)
{
        if (GROW(h->fds, h->cap_fds, h->n_fds + 1, 64) < 0) {
                h->failed = true;
                return;
        }
        h->fds[h->n_fds++] = fd;
}

static void save_listener(const listener *l, void *userdata)
{
        handover *h = userdata;

        strbuf_printf(&h->b, "listener %d %u %d\n", l->fd, (unsigned) l->uid, (int) l->pid);
        hand_fd(h, l->fd);
}

static void save_nlclient(const relay_saved *c, void *userdata)
{
        handover *h = userdata;

        strbuf_printf(&h->b, "nlclient %d %d %d %u %u %u %d %d ", c->ctl_fd, c->data_fd, c->kern_fd,
                      (unsigned) c->uid, c->portid, c->kern_portid, c->ext_ack, c->cap_ack);
        if (!c->pending_len)
                strbuf_printf(&h->b, "-");
        for (size_t i = 0; i < c->pending_len; i++)
                strbuf_printf(&h->b, "%02x", (unsigned char) c->pending[i]);
        strbuf_printf(&h->b, "\n");
        hand_fd(h, c->ctl_fd);
        hand_fd(h, c->data_fd);
        hand_fd(h, c->kern_fd);
}

static void save_conn(int fd, void *userdata)
{
        handover *h = userdata;

        strbuf_printf(&h->b, "conn %d\n", fd);
        hand_fd(h, fd);
}

/* The state as text in a memfd (CLOEXEC: cleared only for the exec). The
 * policy comes last, as "policy LEN" and LEN bytes of policy_format(). */
static int state_write(uoad *d, handover *h)
{
        _cleanup_free_ char *policy_text = policy_format(d->policy, NULL);
        _cleanup_free_ char *text = NULL;
        strbuf stats = {};
        _cleanup_free_ char *stats_text = NULL;
        size_t len, off = 0;
        int fd;

        strbuf_printf(&h->b, "%s", STATE_MAGIC);
        strbuf_printf(&h->b, "control %d\n", control_fd(d));
        hand_fd(h, control_fd(d));
        if (holder_fd(d) >= 0) {
                strbuf_printf(&h->b, "holder %d\n", holder_fd(d));
                hand_fd(h, holder_fd(d));
        }
        notify_listeners_each(d, save_listener, h);
        relay_clients_each(d, save_nlclient, h);
        strbuf_printf(&h->b, "nlnext %u\n", relay_next_portid(d));
        control_conns_each(d, save_conn, h);
        stats_format(d, &stats, NULL);
        stats_text = strbuf_done(&stats);
        for (char *line = stats_text, *nl; line && *line; line = nl + 1) {
                nl = strchr(line, '\n');
                if (!nl)
                        break;
                strbuf_printf(&h->b, "stats %.*s\n", (int) (nl - line), line);
        }
        if (!policy_text || !stats_text)
                h->failed = true;
        else
                strbuf_printf(&h->b, "policy %zu\n%s", strlen(policy_text), policy_text);
        text = strbuf_done(&h->b);
        if (!text || h->failed)
                return -ENOMEM;
        fd = memfd_create("uoad-state", MFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        len = strlen(text);
        while (off < len) {
                ssize_t n = write(fd, text + off, len - off);

                if (n < 0) {
                        int r = negative_errno();

                        close(fd);
                        return r;
                }
                off += (size_t) n;
        }
        return fd;
}

static void cloexec_set(const int *fds, size_t n, bool on)
{
        for (size_t i = 0; i < n; i++) {
                int fl = fcntl(fds[i], F_GETFD);

                if (fl >= 0)
                        (void) fcntl(fds[i], F_SETFD, on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC);
        }
}

/* The new binary, on the same state, in a child: does it start and accept it? */
static int preflight(resume_exe *x, int state_fd, char *why, size_t whylen)
{
        char num[16];
        int st;
        pid_t pid;

        snprintf(num, sizeof(num), "%d", state_fd);
        x->argv[x->argc] = (char *) "--resume-check";
        x->argv[x->argc + 1] = num;
        pid = fork();
        if (pid < 0) {
                snprintf(why, whylen, "cannot fork: %m");
                return negative_errno();
        }
        if (pid == 0) {
                int fl = fcntl(state_fd, F_GETFD);

                (void) fcntl(state_fd, F_SETFD, fl & ~FD_CLOEXEC);
                execv(x->path, x->argv);
                _exit(127);
        }
        for (int waited = 0; waited < CHECK_TIMEOUT_MS; waited += 10) {
                struct timespec ts = { .tv_nsec = 10 * 1000000L };
                pid_t w = waitpid(pid, &st, WNOHANG);

                if (w == pid) {
                        x->argv[x->argc] = NULL;
                        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                                return 0;
                        if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
                                snprintf(why, whylen, "%.300s cannot be executed", x->path);
                        else
                                snprintf(why, whylen, "%.300s refused the state (%s %d; its log says why)", x->path,
                                         WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
                        return -EINVAL;
                }
                nanosleep(&ts, NULL);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        x->argv[x->argc] = NULL;
        snprintf(why, whylen, "%.300s --resume-check did not finish in %d ms", x->path, CHECK_TIMEOUT_MS);
        return -ETIMEDOUT;
}

/* Stop serving, without losing a call, for the exec. */
static int quiesce(uoad *d, char *why, size_t whylen)
{
        for (int waited = 0; caller_busy(d) && waited < DRAIN_TIMEOUT_MS; waited += 10) {
                struct timespec ts = { .tv_nsec = 10 * 1000000L };

                nanosleep(&ts, NULL);
        }
        if (caller_busy(d)) {
                snprintf(why, whylen, "%u binds or listens in the callers' context are still running "
                         "(a slice's file system does not answer)", caller_busy(d));
                return -EBUSY;
        }
        return notify_workers_drain(d, DRAIN_TIMEOUT_MS, why, whylen);
}

/* Privileged operation (docs/design.md §11 row 12), and why it is safe:
 * uoad runs as root, so only root can send it SIGUSR2; the binary run is
 * the one at the path uoad was started from, which only root can replace;
 * what crosses the exec is exactly uoad's own fds listed in the state
 * (FD_CLOEXEC cleared on those, put back if execve fails) and the memfd
 * describing them; the new image keeps the reduced bounding set, so it can
 * hold no more capabilities than this one; and no notification is half
 * served across it (quiesce()). */
void resume_exec(uoad *d)
{
        resume_exe *x = &d->resume;
        _cleanup_close_ int state_fd = -1;
        handover h = {};
        char why[512] = "", num[16];
        int r;

        if (!x->argv) {
                log_error("SIGUSR2: not re-executing: the path of our binary is unknown");
                return;
        }
        log_info("SIGUSR2: re-executing %s, keeping %zu sessions", x->path, d->n_listeners);
        r = quiesce(d, why, sizeof(why));
        if (r < 0) {
                log_error("not re-executing, still serving: %s", why);
                return;
        }
        state_fd = state_write(d, &h);
        if (state_fd < 0) {
                log_error("not re-executing, still serving: cannot write the state: %s", strerror(-state_fd));
                goto undrain;
        }
        r = preflight(x, state_fd, why, sizeof(why));
        if (r < 0) {
                log_error("not re-executing, still serving: %s", why);
                goto undrain;
        }
        snprintf(num, sizeof(num), "%d", state_fd);
        x->argv[x->argc] = (char *) "--resume";
        x->argv[x->argc + 1] = num;
        hand_fd(&h, state_fd);
        cloexec_set(h.fds, h.n_fds, false);
        execv(x->path, x->argv);
        r = negative_errno();
        cloexec_set(h.fds, h.n_fds, true);
        x->argv[x->argc] = NULL;
        log_error("not re-executing, still serving: execv %s: %s", x->path, strerror(-r));
undrain:
        free(h.fds);
        notify_workers_undrain(d);
}

/* ---- reading the state ------------------------------------------------------ */
static char *state_read(int fd, size_t *ret_len)
{
        struct stat st;
        char *text;
        size_t off = 0;

        if (fstat(fd, &st) < 0 || st.st_size <= 0 || (uint64_t) st.st_size > STATE_MAX)
                return NULL;
        text = malloc((size_t) st.st_size + 1);
        while (text && off < (size_t) st.st_size) {
                ssize_t n = pread(fd, text + off, (size_t) st.st_size - off, (off_t) off);

                if (n <= 0) {
                        free(text);
                        return NULL;
                }
                off += (size_t) n;
        }
        if (!text)
                return NULL;
        text[off] = '\0';
        if (strncmp(text, STATE_MAGIC, strlen(STATE_MAGIC)) != 0) {
                free(text);
                return NULL;
        }
        *ret_len = off;
        return text;
}

/* Where the policy starts in text, and its length; NULL if malformed. */
static const char *state_policy(const char *text, size_t len, size_t *ret_len)
{
        const char *p = strstr(text, "\npolicy ");
        unsigned long long plen;
        const char *body;

        if (!p || sscanf(p + 8, "%llu", &plen) != 1 || !(body = strchr(p + 1, '\n')))
                return NULL;
        body++;
        if (plen > len - (size_t) (body - text))
                return NULL;
        *ret_len = (size_t) plen;
        return body;
}

int resume_check(int state_fd)
{
        _cleanup_free_ char *text = NULL;
        const char *body;
        char err[512];
        size_t len, plen;
        policy *p;

        text = state_read(state_fd, &len);
        if (!text) {
                log_error("--resume-check: not a state this uoad knows");
                return -EINVAL;
        }
        body = state_policy(text, len, &plen);
        if (!body) {
                log_error("--resume-check: the state has no policy");
                return -EINVAL;
        }
        if (policy_parse(body, plen, "the served policy", NULL, NULL, &p, err, sizeof(err)) < 0) {
                log_error("--resume-check: %s", err);
                return -EINVAL;
        }
        policy_free(p);
        return 0;
}

int resume_policy(uoad *d, int state_fd, char *err, size_t errlen)
{
        _cleanup_free_ char *text = NULL;
        const char *body;
        size_t len, plen;
        int r;

        text = state_read(state_fd, &len);
        body = text ? state_policy(text, len, &plen) : NULL;
        if (!body) {
                snprintf(err, errlen, "--resume %d: not a state this uoad knows", state_fd);
                return -EINVAL;
        }
        r = uoad_policy_text_set(d, body, plen, "the served policy", err, errlen);
        if (r < 0)
                return r;
        for (char *line = text, *nl; (nl = strchr(line, '\n')) && line < body; line = nl + 1) {
                *nl = '\0';
                if (strncmp(line, "stats ", 6) == 0 && stats_restore(d, line + 6) < 0)
                        log_warn("resume: a counter line not understood: %s", line);
        }
        return 0;
}

static int hex_decode(const char *s, char **ret, size_t *ret_len)
{
        size_t n = strlen(s) / 2;
        char *v;

        if (strcmp(s, "-") == 0) {
                *ret = NULL;
                *ret_len = 0;
                return 0;
        }
        v = malloc(n ? n : 1);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                unsigned x;

                if (sscanf(s + 2 * i, "%2x", &x) != 1) {
                        free(v);
                        return -EINVAL;
                }
                v[i] = (char) x;
        }
        *ret = v;
        *ret_len = n;
        return 0;
}

static int adopt_nlclient(uoad *d, const char *line, uint32_t next)
{
        _cleanup_free_ char *hex = malloc(strlen(line) + 1), *pending = NULL;
        relay_saved s = {};
        unsigned uid;
        int ext, cap;

        if (!hex || sscanf(line, "nlclient %d %d %d %u %u %u %d %d %s", &s.ctl_fd, &s.data_fd, &s.kern_fd, &uid,
                           &s.portid, &s.kern_portid, &ext, &cap, hex) != 9 ||
            hex_decode(hex, &pending, &s.pending_len) < 0)
                return -EINVAL;
        s.uid = uid;
        s.ext_ack = ext;
        s.cap_ack = cap;
        s.pending = pending;
        return relay_client_adopt(d, &s, next);
}

typedef struct adopted {
        size_t listeners, nlclients, conns;
} adopted;

/* Take over the sessions of state lines [text, end). A line that fails
 * costs its session only, and is logged. */
static void adopt_lines(uoad *d, char *text, const char *end, unsigned next, adopted *ret)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        for (char *line = text, *nl; line < end && (nl = strchr(line, '\n')); line = nl + 1) {
                unsigned uid;
                int fd, pid, q = 1;

                *nl = '\0';
                if (sscanf(line, "control %d", &fd) == 1) {
                        q = control_adopt(d, fd);
                } else if (sscanf(line, "holder %d", &fd) == 1) {
                        holder_set(d, fd);
                        q = 0;
                } else if (sscanf(line, "listener %d %u %d", &fd, &uid, &pid) == 3) {
                        q = notify_listener_add(d, fd, uid, pid);
                        ret->listeners += q == 0;
                } else if (strncmp(line, "nlclient ", 9) == 0) {
                        q = adopt_nlclient(d, line, next);
                        ret->nlclients += q == 0;
                } else if (sscanf(line, "conn %d", &fd) == 1) {
                        control_conn_adopt(d, fd, (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000);
                        ret->conns++;
                        q = 0;
                }
                if (q < 0)
                        log_error("resume: cannot take over '%s': %s", line, strerror(-q));
        }
}

/* The sessions, in the new image once it serves (epoll, workers, engine
 * ready). */
int resume_adopt(uoad *d, int state_fd)
{
        _cleanup_free_ char *text = NULL;
        const char *body, *nlnext;
        size_t len, plen;
        unsigned next = 0;
        adopted a = {};

        text = state_read(state_fd, &len);
        close(state_fd);
        body = text ? state_policy(text, len, &plen) : NULL;
        if (!body)
                return -EINVAL;
        nlnext = strstr(text, "\nnlnext ");
        if (nlnext)
                (void) sscanf(nlnext + 8, "%u", &next);
        adopt_lines(d, text, body, next, &a);
        log_info("resumed: %zu sessions, %zu netlink sockets, %zu control connections", a.listeners, a.nlclients,
                 a.conns);
        return control_fd(d) >= 0 ? 0 : -EBADF;
}

/* The sessions a holder kept for a uoad that crashed (holder.c): their
 * listeners and netlink sockets, in the state's line format. The policy is
 * the file's (live edits of the crashed uoad are not kept). */
void resume_held_adopt(uoad *d, char *state)
{
        adopted a = {};
        unsigned next = 0;

        for (char *p = strstr(state, "nlclient "); p; p = strstr(p + 1, "\nnlclient ")) {
                unsigned portid;

                if (sscanf(p + (*p == '\n'), "nlclient %*d %*d %*d %*u %u", &portid) == 1 && portid >= next)
                        next = portid + 1; /* new clients' port ids stay unique */
        }
        adopt_lines(d, state, state + strlen(state), next, &a);
        log_info("resumed after a crash: %zu sessions, %zu netlink sockets", a.listeners, a.nlclients);
}
