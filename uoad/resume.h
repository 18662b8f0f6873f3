/* uoad/resume.h: SIGUSR2 re-executes the binary at uoad's path, handing it
 * every session (docs/enforcement.md "Upgrades and restarts") (uoad/resume.c). */
#pragma once

#include <limits.h>
#include <stddef.h>

/* uoad.h embeds this header's state in struct uoad, so it only names it. */
typedef struct uoad uoad;

/* What SIGUSR2 executes (d->resume). */
typedef struct resume_exe {
        char path[PATH_MAX];
        char **argv; /* our argv without --resume/--resume-check, two slots spare */
        int argc;
} resume_exe;

int resume_init(uoad *d, int argc, char **argv); /* at start: what to exec, and how */
void resume_exec(uoad *d);                       /* returns only if the new image could not start */
int resume_check(int state_fd);                  /* --resume-check: 0 if this image can take the state */
int resume_policy(uoad *d, int state_fd, char *err, size_t errlen); /* --resume: the served policy, counters */
int resume_adopt(uoad *d, int state_fd);         /* ... then the sessions; closes state_fd */
void resume_held_adopt(uoad *d, char *state);    /* the sessions a holder kept (holder.c) */
