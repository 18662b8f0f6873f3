/* uoad/holder.h: a process of ours that keeps every session's fds across a
 * crash of uoad, for grace_s seconds (docs/enforcement.md) (uoad/holder.c). */
#pragma once

int holder_attach(const char *socket_path, unsigned grace_s, char **ret_state);
int holder_fd(void);
void holder_set(int fd);
void holder_add(unsigned key, const char *text, const int *fds, unsigned n);
void holder_del(unsigned key);
void holder_quit(void);
