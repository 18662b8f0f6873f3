/* uoad/uoad.c: the supervisor's main(): arguments, policy load, the
 * epoll loop over the control socket, signals and every seccomp listener. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/wire.h"
#include "uoad/caller.h"
#include "uoad/caps.h"
#include "uoad/control.h"
#include "uoad/crash.h"
#include "uoad/engine_bpf.h"
#include "uoad/guard.h"
#include "uoad/holder.h"
#include "uoad/notify.h"
#include "uoad/relay.h"
#include "uoad/resume.h"
#include "uoad/route_lookup.h"
#include "uoad/shape.h"
#include "uoad/shape_monitor.h"
#include "uoad/stats.h"
#include "uoad/uoad.h"

#define DEFAULT_CONFIG "/etc/uoa/uoa.conf"

/* The command line, parsed once in main() and passed to who needs it. */
typedef struct uoad_args {
        const char *config;
        const char *socket;
        bool daemon;
        const char *engine;
        int verbose;
        int resume;       /* --resume FD: the state a uoad we re-executed from handed us */
        int resume_check; /* --resume-check FD: only check that we could (resume.c) */
        unsigned grace;   /* --grace S: how long the holder keeps sessions without uoad; 0: no holder */
} uoad_args;

static void usage(FILE *f)
{
        fprintf(f, "usage: uoad [--config FILE] [--socket PATH] [--engine auto|bpf|seccomp] [--grace SECONDS]\n"
                   "            [--daemon] [-v]\n"
                   "Serves the uoa policy (default %s) on the control socket\n"
                   "(default %s, or $UOA_SOCKET) in this network namespace.\n"
                   "--engine: who decides the address rules: the kernel (bpf, cgroup\n"
                   "programs for every process of a slice), uoad alone (seccomp), or\n"
                   "bpf where the kernel allows it (auto, the default).\n"
                   "--grace: how long running sessions wait for a restarted uoad after a\n"
                   "crash (default 30 s; 0: they fail at once).\n",
                DEFAULT_CONFIG, WIRE_DEFAULT_SOCKET);
}

static int parse_args(int argc, char **argv, uoad_args *arg)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' }, { "socket", required_argument, NULL, 's' },
                { "daemon", no_argument, NULL, 'd' },        { "verbose", no_argument, NULL, 'v' },
                { "engine", required_argument, NULL, 'e' },
                { "resume", required_argument, NULL, 'R' },  { "resume-check", required_argument, NULL, 'C' },
                { "grace", required_argument, NULL, 'g' },
                { "help", no_argument, NULL, 'h' },          {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:s:dvh", opts, NULL)) >= 0)
                switch (c) {
                case 'c': arg->config = optarg; break;
                case 's': arg->socket = optarg; break;
                case 'd': arg->daemon = true; break;
                case 'e': arg->engine = optarg; break;
                case 'v': arg->verbose++; break;
                case 'R': arg->resume = atoi(optarg); break;
                case 'C': arg->resume_check = atoi(optarg); break;
                case 'g': arg->grace = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'h': usage(stdout); exit(0);
                default: usage(stderr); return -EINVAL;
                }
        if (optind < argc) {
                usage(stderr);
                return -EINVAL;
        }
        if (strcmp(arg->engine, "auto") != 0 && strcmp(arg->engine, "bpf") != 0 &&
            strcmp(arg->engine, "seccomp") != 0) {
                fprintf(stderr, "uoad: --engine takes auto, bpf or seccomp, not '%s'\n", arg->engine);
                return -EINVAL;
        }
        arg->socket = wire_socket_path(arg->socket);
        return 0;
}

uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* The port below which binding needs privilege in this namespace; loopback
 * binds of slices follow it as on an ordinary host. */
static uint16_t read_unpriv_port_start(void)
{
        unsigned v = 1024;
        FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");

        if (f) {
                if (fscanf(f, "%u", &v) != 1 || v > 65535)
                        v = 1024;
                fclose(f);
        }
        return (uint16_t) v;
}

/* One fd per supervised uoa-run (its listener) and three per proxied
 * netlink socket: the soft limit of 1024 is far too low for a testbed. */
static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static int signals_open(uoad *d, void *watch)
{
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = watch };
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGUSR2);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0 || epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return negative_errno();
        return fd;
}

/* Returns false when the daemon should stop. */
static bool signal_event(uoad *d, int fd)
{
        struct signalfd_siginfo si;
        char err[POLICY_ERR_MAX];

        while (read(fd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGUSR2) {
                        resume_exec(d); /* returns only if the new image could not start */
                        continue;
                }
                if (si.ssi_signo != SIGHUP) {
                        log_info("signal %u: stopping", si.ssi_signo);
                        return false;
                }
                if (uoad_policy_load(d, err, sizeof(err)) < 0)
                        log_lines(LOG_ERR, "reload refused, keeping the current policy", err);
                else
                        log_info("policy reloaded from %s and %zu drop-ins (%zu slices)", d->config_path,
                                 uoad_dropins(d), policy_slice_count(d->policy));
        }
        return true;
}

static int run_loop(uoad *d, int sig_fd, void *sig_watch)
{
        struct epoll_event evs[64];

        for (;;) {
                int n = epoll_wait(d->epoll_fd, evs, ELEMENTSOF(evs), 1000);
                uint64_t now = now_ms();

                if (n < 0 && errno != EINTR)
                        return negative_errno();
                for (int i = 0; i < n; i++) {
                        void *w = evs[i].data.ptr;

                        if (w == sig_watch) {
                                if (!signal_event(d, sig_fd))
                                        return 0;
                        } else if (*(watch_kind *) w == WATCH_BPF_EVENTS)
                                engine_bpf_events(d, w);
                        else if (*(watch_kind *) w == WATCH_CALLER)
                                caller_event(d);
                        else if (*(watch_kind *) w == WATCH_SHAPE_LINKS)
                                shape_monitor_event(d);
                        else if (*(watch_kind *) w >= WATCH_NL_CTL)
                                relay_event(d, w, evs[i].events);
                        else
                                control_event(d, w, evs[i].events, now);
                }
                relay_reap(d);
                control_sweep(d, now);
        }
}

/* The kernel engine, as --engine asks. Returns 0 (d->bpf set, or the
 * seccomp engine alone), or -1 when bpf was required and cannot run. With
 * the seccomp engine the same programs still steer the wildcard (enforce
 * off) when the kernel has BPF; without, a wildcard serves the primary
 * address only. */
static int engine_start(uoad *d, const char *engine)
{
        bool seccomp = strcmp(engine, "seccomp") == 0;
        char err[512];
        int r;

        r = engine_bpf_start(d->policy, !seccomp, &d->bpf, err, sizeof(err));
        if (r == 0 && seccomp) {
                log_info("engine: seccomp (as asked): uoad decides for supervised processes only; "
                         "BPF steers the wildcard (pinned at %s)", engine_bpf_pin_dir(d->bpf));
                return 0;
        }
        if (r == 0) {
                log_info("engine: bpf: the kernel decides for every process of a slice (programs on %s, pinned at %s)",
                         engine_bpf_cgroup(d->bpf), engine_bpf_pin_dir(d->bpf));
                return 0;
        }
        if (seccomp) {
                log_info("engine: seccomp (as asked); without BPF a wildcard serves the primary address only: %s", err);
                return 0;
        }
        if (strcmp(engine, "bpf") == 0) {
                log_error("engine: bpf unavailable: %s", err);
                return -1;
        }
        log_info("engine: seccomp, since the kernel engine is unavailable: %s", err);
        return 0;
}

/* --daemon: detach, and let the parent exit only once the socket serves. */
static int daemonize(int *ret_ready_fd)
{
        int p[2];
        pid_t pid;
        char c;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid > 0) {
                close(p[1]);
                _exit(read(p[0], &c, 1) == 1 ? 0 : 1);
        }
        close(p[0]);
        setsid();
        if (chdir("/") < 0)
                return negative_errno();
        *ret_ready_fd = p[1];
        return 0;
}

int main(int argc, char **argv)
{
        /* static, as the state it holds was before it: the threads still
         * running at exit (a caller blocked in a slice's file system) use it
         * after main() returns. */
        static uoad d = UOAD_INIT;
        static watch_kind sig_watch = WATCH_SIGNAL;
        _cleanup_free_ char *held = NULL;
        uoad_args arg = { .config = DEFAULT_CONFIG, .engine = "auto", .resume = -1, .resume_check = -1, .grace = 30 };
        char err[POLICY_ERR_MAX];
        int r, sig_fd, ready_fd = -1;

        if (parse_args(argc, argv, &arg) < 0)
                return 2;
        log_open("uoad", arg.daemon, arg.verbose ? LOG_DEBUG : LOG_INFO);
        if (arg.resume_check >= 0)
                return resume_check(arg.resume_check) < 0 ? 1 : 0;
        if ((r = resume_init(&d, argc, argv)) < 0)
                log_warn("SIGUSR2 will not re-execute: cannot find our binary: %s", strerror(-r));
        /* Before anything a slice can reach: from here on uoad holds only
         * caps.c's list, and no execve gives it more. */
        if ((r = caps_drop()) < 0) {
                log_error("cannot drop capabilities: %s", strerror(-r));
                return 1;
        }
        crash_handler_install();
        raise_fd_limit();
        d.config_path = arg.config;
        d.socket_path = arg.socket;
        /* Before touching the guard or the engine: a second uoad for the same
         * socket would take the running one's pinned programs over. A resumed
         * uoad is that one (its socket is ours, inherited): it skips this. */
        if (arg.resume < 0 && (r = wire_connect(d.socket_path)) >= 0) {
                close(r);
                log_error("cannot serve %s: another uoad is serving it", d.socket_path);
                return 1;
        }
        /* After a crash, the holder kept the sessions: they are ours again
         * once we serve. Before the guard too: a busy holder means another
         * uoad (starting) for this socket. */
        if (strcmp(d.socket_path, WIRE_DEFAULT_SOCKET) == 0)
                (void) mkdir("/run/uoa", 0755); /* the holder's socket goes there too */
        if (arg.resume < 0 && (r = holder_attach(&d, arg.grace, &held)) < 0) {
                log_error("cannot serve %s: %s", d.socket_path,
                          r == -EBUSY ? "another uoad is serving it (its holder is busy)" : strerror(-r));
                if (r == -EBUSY)
                        return 1;
                log_warn("running without a holder: a crash will end the running sessions");
        }
        /* Resumed: the policy served before the exec (live edits included),
         * never removed on failure: the sessions and the guard are still the
         * old image's, and dying keeps the guard in place (fail closed). */
        r = arg.resume >= 0 ? resume_policy(&d, arg.resume, err, sizeof(err)) : uoad_policy_load(&d, err, sizeof(err));
        if (r < 0) {
                for (char *save, *l = strtok_r(err, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                        fprintf(stderr, "uoad: %s\n", l);
                /* Only what we began to apply: a policy refused by the parser
                 * touched nothing, and the guard in place may be another's. */
                if (arg.resume < 0 && d.guard_touched) {
                        guard_remove(&d);
                        shape_remove();
                }
                return 1;
        }
        if (engine_start(&d, arg.engine) < 0) {
                if (arg.resume < 0) {
                        guard_remove(&d);
                        shape_remove();
                }
                return 1;
        }
        if (arg.daemon && arg.resume < 0 && (r = daemonize(&ready_fd)) < 0) {
                fprintf(stderr, "uoad: cannot daemonize: %s\n", strerror(-r));
                return 1;
        }
        if (strcmp(d.socket_path, WIRE_DEFAULT_SOCKET) == 0)
                (void) mkdir("/run/uoa", 0755);
        d.unpriv_port_start = read_unpriv_port_start();
        d.rtnl_fd = route_lookup_open();
        d.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (d.epoll_fd < 0 || (r = notify_init(&d)) < 0 || (r = caller_init(&d)) < 0 || (sig_fd = signals_open(&d, &sig_watch)) < 0) {
                log_error("cannot set up: %m");
                return 1;
        }
        if (d.bpf) {
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = d.bpf };

                if (epoll_ctl(d.epoll_fd, EPOLL_CTL_ADD, engine_bpf_events_fd(d.bpf), &ev) < 0)
                        log_warn("the kernel engine's refusals will not be logged: %m");
        }
        if ((r = shape_monitor_open(&d)) < 0)
                log_warn("interfaces created from now on are shaped only at the next policy change: %s",
                         strerror(-r));
        r = arg.resume >= 0 ? resume_adopt(&d, arg.resume) : control_open(&d);
        if (r < 0 && arg.resume >= 0) {
                log_error("cannot take over the control socket from the state handed over: %s", strerror(-r));
                return 1;
        }
        if (r < 0) {
                log_error("cannot serve %s: %s", d.socket_path,
                          r == -EADDRINUSE ? "another uoad is serving it" : strerror(-r));
                if (r != -EADDRINUSE) {
                        guard_remove(&d);
                        shape_remove();
                }
                return 1;
        }
        if (held)
                resume_held_adopt(&d, held);
        log_info("serving %zu slices from %s and %zu drop-ins on %s", policy_slice_count(d.policy),
                 d.config_path, uoad_dropins(&d), d.socket_path);
        if (ready_fd >= 0) {
                (void) !write(ready_fd, "1", 1);
                close(ready_fd);
        }
        r = run_loop(&d, sig_fd, &sig_watch);
        /* Stop serving first: from here trapped calls fail (closed listeners
         * answer ENOSYS), then take the guard away. */
        holder_quit(&d);
        control_close(&d);
        relay_shutdown(&d);
        notify_shutdown(&d);
        caller_shutdown(&d);
        if (guard_remove(&d) < 0)
                log_error("could not remove every part of the kernel guard");
        if (shape_remove() < 0)
                log_error("could not remove every part of the shaping");
        if (d.bpf)
                engine_bpf_remove(d.bpf);
        engine_bpf_free(d.bpf);
        notify_policy_swap(&d, NULL);
        stats_free(&d);
        return r < 0 ? 1 : 0;
}
