/* uoad/notify_send.h: connect and the send family (uoad/notify_send.c). */
#pragma once

#include "uoad/uoad.h"

void notify_connect(notif *n);
void notify_sendto(notif *n);
void notify_sendmsg(notif *n);
void notify_sendmmsg(notif *n);
