/* uoad/crash.c: on a fatal signal, uoad writes a backtrace (libunwind)
 * to stderr — the journal under systemd — and dies by the same signal. What
 * a crash means for the slices (trapped calls fail, the guard stays, restart
 * the sessions after restarting uoad) is in docs/enforcement.md. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "uoad/crash.h"

static char altstack[64 * 1024]; /* a file-level static: the handler has no struct uoad to reach */

/* Only async-signal-safe calls: snprintf into a stack buffer (glibc's does
 * not allocate for these formats) and write(2). */
static void say(const char *s)
{
        (void) !write(STDERR_FILENO, s, strlen(s));
}

static void crash_handler(int sig)
{
        unw_cursor_t cursor;
        unw_context_t ctx;
        char line[256], name[128];
        int depth = 0;

        snprintf(line, sizeof(line), "uoad: fatal signal %d (SIG%s); backtrace:\n", sig, sigabbrev_np(sig));
        say(line);
        if (unw_getcontext(&ctx) == 0 && unw_init_local(&cursor, &ctx) == 0)
                while (depth < 64 && unw_step(&cursor) > 0) {
                        unw_word_t ip = 0, off = 0;

                        unw_get_reg(&cursor, UNW_REG_IP, &ip);
                        if (unw_get_proc_name(&cursor, name, sizeof(name), &off) != 0)
                                strcpy(name, "?");
                        snprintf(line, sizeof(line), "uoad:   #%d 0x%lx %s+0x%lx\n", depth++, (unsigned long) ip,
                                 name, (unsigned long) off);
                        say(line);
                }
        say("uoad: exiting; supervised processes now get errors for trapped calls, the guard stays\n");
        signal(sig, SIG_DFL);
        raise(sig);
}

void crash_handler_install(void)
{
        static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
        stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
        struct sigaction sa = { .sa_handler = crash_handler, .sa_flags = SA_ONSTACK | SA_RESETHAND };

        sigaltstack(&ss, NULL); /* a stack overflow still gets its backtrace */
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                sigaction(sigs[i], &sa, NULL);
}
