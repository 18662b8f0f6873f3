/* uoad/relay.h: the rtnetlink proxy for slices' netlink sockets
 * (uoad/relay.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* uoad.h embeds this header's state in struct uoad, so it only names it. */
typedef struct uoad uoad;

/* The proxied sockets (d->relay). */
typedef struct relay_clients {
        struct nlclient *clients;
        /* A client has three fds, so one epoll batch can hold several events for a
         * client the first of them closed: it is freed only after the batch. */
        struct nlclient *graveyard;
        uint32_t next_portid; /* unique per client, never 0 */
} relay_clients;
#define RELAY_CLIENTS_INIT { .next_portid = 0x75610000 /* "ua" */ }

int relay_client_add(uoad *d, int ctl_fd, uid_t uid);
void relay_event(uoad *d, void *watch, uint32_t events);
void relay_shutdown(uoad *d);
void relay_reap(uoad *d); /* after each epoll batch */
/* The handover to a re-executed uoad (resume.c). */
typedef struct relay_saved {
        int ctl_fd, data_fd, kern_fd;
        uid_t uid;
        uint32_t portid, kern_portid;
        bool ext_ack, cap_ack;
        const char *pending; /* one datagram the client has not taken yet */
        size_t pending_len;
} relay_saved;
void relay_clients_each(uoad *d, void (*f)(const relay_saved *c, void *userdata), void *userdata);
uint32_t relay_next_portid(const uoad *d);
int relay_client_adopt(uoad *d, const relay_saved *s, uint32_t next_portid);
