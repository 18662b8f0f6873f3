/* uoa-run/uoa_run.c: uoa-run, the launcher of supervised commands. Safe to
 * install setuid root: it installs the seccomp filter on itself, hands the
 * listener to uoad (which pulls it with pidfd_getfd), closes it, drops every
 * privilege, sets no_new_privs and execs the command as the slice user.
 * Exit status: the command's; 125 for uoa-run's own errors, 126/127 when the
 * command cannot be run (as env(1) does). */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/wire.h"
#include "policy/policy.h"
#include "uoa-run/filter.h"

#define EXIT_UOA 125
#define REGISTER_TIMEOUT_S 10 /* a stalled uoad fails the launch, never hangs it */
#define PRELOAD_NAME "libuoa-preload.so"

static const char *arg_socket;
static const char *arg_user;
static bool arg_no_preload;

_printf_(1, 2) static _Noreturn void die(const char *fmt, ...)
{
        va_list ap;

        fputs("uoa-run: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(EXIT_UOA);
}

static void usage(FILE *f)
{
        fputs("usage: uoa-run [--socket PATH] [--user NAME] [--no-preload] [--] COMMAND [ARG...]\n"
              "Runs COMMAND with the network identity of the invoking user's slice.\n",
              f);
}

static int parse_args(int argc, char **argv)
{
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' }, { "user", required_argument, NULL, 'u' },
                { "no-preload", no_argument, NULL, 'n' },   { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        /* "+": stop at the command, its options are its own. */
        while ((c = getopt_long(argc, argv, "+s:u:h", opts, NULL)) >= 0)
                switch (c) {
                case 's': arg_socket = optarg; break;
                case 'u': arg_user = optarg; break;
                case 'n': arg_no_preload = true; break;
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); exit(EXIT_UOA);
                }
        if (optind >= argc) {
                usage(stderr);
                exit(EXIT_UOA);
        }
        return optind;
}

/* The socket path may come from the invoking user (--socket, UOA_SOCKET).
 * Running setuid, we connect as root, so only accept a socket that root
 * made: a user cannot then steer our registration to a daemon of theirs
 * (and a fake daemon could not take the listener anyway: pidfd_getfd on a
 * setuid process needs privilege). */
static const char *socket_path(bool setuid_mode)
{
        /* $UOA_SOCKET deliberately by getenv(), not secure_getenv(): that
         * returns NULL when setuid, and the contract lets a slice's own
         * `UOA_SOCKET=... uoa-run` choose its node's uoad (tools/demo.sh,
         * uoa-run(1)). What it names is checked below: root's socket or
         * nothing. */
        const char *p = wire_socket_path(arg_socket);
        struct stat st;

        if (setuid_mode && strcmp(p, WIRE_DEFAULT_SOCKET) != 0) {
                if (stat(p, &st) < 0)
                        die("uoad is not running (cannot reach %s: %m)", p);
                if (!S_ISSOCK(st.st_mode) || st.st_uid != 0)
                        die("refusing socket %s: not a socket owned by root", p);
        }
        return p;
}

static struct passwd *target_user(uid_t ruid)
{
        struct passwd *pw;
        char *end;

        if (arg_user && ruid != 0)
                die("--user is for root only");
        if (!arg_user) {
                pw = getpwuid(ruid);
                if (!pw)
                        die("uid %u has no user entry", ruid);
                return pw;
        }
        pw = getpwnam(arg_user);
        if (!pw) {
                unsigned long v = strtoul(arg_user, &end, 10);

                if (*arg_user && !*end && v < UINT_MAX)
                        pw = getpwuid((uid_t) v);
        }
        if (!pw)
                die("unknown user '%s'", arg_user);
        return pw;
}

/* The shim beside our own binary (build tree, or installed side by side),
 * else where `make install` puts it. /proc/self/exe is the real file, not a
 * path the user chose. */
static char *preload_path(void)
{
        static char path[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - sizeof(PRELOAD_NAME) - 1);
        char *slash;

        if (n > 0) {
                path[n] = '\0';
                slash = strrchr(path, '/');
                if (slash) {
                        strcpy(slash + 1, PRELOAD_NAME);
                        if (access(path, R_OK) == 0)
                                return path;
                }
        }
        snprintf(path, sizeof(path), "%s/%s", UOA_LIBDIR, PRELOAD_NAME);
        return access(path, R_OK) == 0 ? path : NULL;
}

static void set_preload(const char *lib)
{
        const char *old = getenv("LD_PRELOAD");
        char *v;

        if (old && *old) {
                if (asprintf(&v, "%s %s", lib, old) < 0)
                        die("out of memory");
                setenv("LD_PRELOAD", v, 1);
                free(v);
        } else
                setenv("LD_PRELOAD", lib, 1);
}

/* Which calls our filter traps (wire.h "traps"): with the kernel engine,
 * only what it cannot decide for the slice. Trapping more is only slower,
 * never less safe, so anything unexpected means "all". */
static unsigned traps_ask(const char *path, uid_t uid, const char *user)
{
        _cleanup_close_ int fd = wire_connect(path);
        _cleanup_free_ char *reply = NULL;
        const char *msg, *payload;
        unsigned traps;
        char req[32];
        size_t len;
        int r;

        if (fd < 0)
                die("uoad is not running (cannot connect to %s: %s)", path, strerror(-fd));
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval) { .tv_sec = REGISTER_TIMEOUT_S },
                          sizeof(struct timeval));
        snprintf(req, sizeof(req), "traps %u", uid);
        if (wire_call(fd, req, strlen(req), &reply, &len) < 0)
                return POLICY_TRAPS_ALL;
        r = wire_reply_status(reply, &msg, &payload);
        if (r == -ENOENT)
                die("user %s has no slice in the uoa policy", user);
        if (r < 0 || sscanf(payload, "traps %u", &traps) != 1)
                return POLICY_TRAPS_ALL;
        return traps & POLICY_TRAPS_ALL;
}

/* Register the listener with uoad, then close our copy whatever happened:
 * it never reaches the slice's command. */
static void hand_over(int sock, int listener, uid_t uid, const char *user)
{
        char req[64], *reply = NULL;
        const char *msg, *payload;
        size_t len;
        int r;

        snprintf(req, sizeof(req), "register %u %d", uid, listener);
        r = wire_call(sock, req, strlen(req), &reply, &len);
        close(listener);
        close(sock);
        if (r == -EAGAIN || r == -EWOULDBLOCK)
                die("uoad did not answer the registration within %d s", REGISTER_TIMEOUT_S);
        if (r < 0)
                die("uoad did not answer the registration: %s", strerror(-r));
        r = wire_reply_status(reply, &msg, &payload);
        if (r == -ENOENT)
                die("user %s has no slice in the uoa policy", user);
        if (r < 0)
                die("uoad refused: %s", r == -EBADMSG ? "malformed reply" : msg);
        free(reply);
}

static void drop_privileges(const struct passwd *pw, const gid_t *groups, int ngroups)
{
        if (setgroups((size_t) ngroups, groups) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
                die("cannot drop privileges: %m");
        /* A uid change from 0 clears every capability (no keepcaps); check
         * that it did, and that root cannot be regained. */
        if (setuid(0) == 0 || geteuid() != pw->pw_uid || getegid() != pw->pw_gid)
                die("privileges were not dropped");
}

int main(int argc, char **argv)
{
        uid_t ruid = getuid();
        bool setuid_mode = geteuid() != ruid;
        gid_t groups[NGROUPS_MAX];
        int ngroups = NGROUPS_MAX, cmd, sock, listener;
        unsigned traps;
        const char *path, *lib = NULL;
        struct passwd *pw;

        /* Not ptraceable, no core dump, while we hold privilege and the
         * listener (a setuid process is not dumpable anyway; root --user
         * would be). */
        prctl(PR_SET_DUMPABLE, 0);
        cmd = parse_args(argc, argv);
        if (geteuid() != 0)
                die("must be setuid root or run by root (is it installed with `make install`?)");
        path = socket_path(setuid_mode);
        pw = target_user(ruid);
        if (pw->pw_uid == 0)
                die("root is never supervised; use --user NAME");
        /* Everything that may use the network (NSS, the daemon's socket) is
         * done before the filter is installed: after it, connect() traps. */
        if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
                die("user %s is in too many groups", pw->pw_name);
        if (!arg_no_preload && !(lib = preload_path()))
                die("cannot find %s (use --no-preload to run without it)", PRELOAD_NAME);
        traps = traps_ask(path, pw->pw_uid, pw->pw_name);
        sock = wire_connect(path);
        if (sock < 0)
                die("uoad is not running (cannot connect to %s: %s)", path, strerror(-sock));
        if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval) { .tv_sec = REGISTER_TIMEOUT_S },
                       sizeof(struct timeval)) < 0)
                die("cannot set a timeout on the uoad socket: %m");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                die("cannot set no_new_privs: %m");
        listener = uoa_filter_install(traps);
        if (listener < 0)
                die("cannot install the seccomp filter: %s", strerror(-listener));
        hand_over(sock, listener, pw->pw_uid, pw->pw_name);
        drop_privileges(pw, groups, ngroups);
        /* The shim talks to the same uoad (its rtnetlink proxy). */
        if (setenv("UOA_SOCKET", path, 1) < 0)
                die("out of memory");
        if (lib)
                set_preload(lib);
        execvp(argv[cmd], argv + cmd);
        fprintf(stderr, "uoa-run: %s: %s\n", argv[cmd], strerror(errno));
        return errno == ENOENT ? 127 : 126;
}
