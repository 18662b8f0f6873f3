/* uoad/crash.h: a backtrace in the log when uoad crashes (uoad/crash.c). */
#pragma once

void crash_handler_install(void);
