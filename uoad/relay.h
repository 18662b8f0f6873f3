/* uoad/relay.h: the rtnetlink proxy for slices' netlink sockets
 * (uoad/relay.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "uoad/uoad.h"

int relay_client_add(uoad *d, int ctl_fd, uid_t uid);
void relay_event(uoad *d, void *watch, uint32_t events);
void relay_shutdown(uoad *d);
void relay_reap(void); /* after each epoll batch */
/* The handover to a re-executed uoad (resume.c). */
typedef struct relay_saved {
        int ctl_fd, data_fd, kern_fd;
        uid_t uid;
        uint32_t portid, kern_portid;
        bool ext_ack, cap_ack;
        const char *pending; /* one datagram the client has not taken yet */
        size_t pending_len;
} relay_saved;
void relay_clients_each(void (*f)(const relay_saved *c, void *userdata), void *userdata);
uint32_t relay_next_portid(void);
int relay_client_adopt(uoad *d, const relay_saved *s, uint32_t next_portid);
