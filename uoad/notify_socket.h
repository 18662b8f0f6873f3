/* uoad/notify_socket.h: socket() (uoad/notify_socket.c). */
#pragma once

#include "uoad/uoad.h"

void notify_socket(notif *n);
