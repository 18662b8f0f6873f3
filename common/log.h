/* common/log.h: logging for the daemons' main loops only (never library code):
 * stderr by default, syslog once log_to_syslog() is called. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "common/macro.h"

void log_open(const char *ident, bool to_syslog, int max_level);
void log_msg(int level, const char *fmt, ...) _printf_(2, 3);

/* Each line of text as a message of its own, after "intro: " (errors that
 * come one a line, e.g. a refused policy's). */
void log_lines(int level, const char *intro, const char *text);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
