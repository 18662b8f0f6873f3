/* uoad/notify_bind.h: bind and listen, and the socket helpers the other
 * handlers share (uoad/notify_bind.c). */
#pragma once

#include <stdbool.h>

#include "common/addr.h"
#include "policy/policy.h"
#include "uoad/uoad.h"

void notify_bind(notif *n);
void notify_listen(notif *n);

/* Shared by the handlers (notify_bind.c). */
typedef enum sock_state { SOCK_OTHER, SOCK_UNBOUND, SOCK_BOUND_OWN, SOCK_BOUND_FOREIGN } sock_state;
typedef struct sock_info {
        int domain, type; /* type 0: not asked (notify_bind) */
        sock_state state;
        bool v6only;
} sock_info;
int sock_inspect(const notif *n, int sock, sock_info *ret);
int notif_socket_get(notif *n, sock_info *si);
int sock_bind_decided(const notif *n, int sock, const sock_info *si, const policy_bind *b,
                      bool defer_port);
int sock_autobind(notif *n, int sock, const sock_info *si, const uoa_addr *dst);
