/* common/log.c: stderr-or-syslog logging with a level threshold. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

static const char *log_ident = "uoa";
static bool log_syslog;
static int log_max = LOG_INFO;

void log_open(const char *ident, bool to_syslog, int max_level)
{
        log_ident = ident;
        log_syslog = to_syslog;
        log_max = max_level;
        if (to_syslog)
                openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_msg(int level, const char *fmt, ...)
{
        va_list ap;

        if (level > log_max)
                return;
        va_start(ap, fmt);
        if (log_syslog)
                vsyslog(level, fmt, ap);
        else {
                char line[1024];

                vsnprintf(line, sizeof(line), fmt, ap);
                fprintf(stderr, "%s: %s\n", log_ident, line);
        }
        va_end(ap);
}

void log_lines(int level, const char *intro, const char *text)
{
        while (*text) {
                size_t n = strcspn(text, "\n");

                log_msg(level, "%s%s%.*s", intro ? intro : "", intro ? ": " : "", (int) n, text);
                text += n + (text[n] == '\n');
        }
}
