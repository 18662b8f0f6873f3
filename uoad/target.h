/* uoad/target.h: safe access to the notifying process (uoad/target.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "uoad/uoad.h"

int target_fd_get(const notif *n, int target_fd);
int target_mem_read(const notif *n, uint64_t addr, void *buf, size_t len);
int target_sockaddr_read(const notif *n, uint64_t addr, uint64_t len,
                         struct sockaddr_storage *ret, size_t *ret_len);
bool target_id_valid(const notif *n);
bool target_notif_valid(int listener_fd, uint64_t id); /* the same, from any thread */
void target_cache_clear(void); /* close the cached pidfds */
