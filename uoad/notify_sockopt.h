/* uoad/notify_sockopt.h: setsockopt() (uoad/notify_sockopt.c). */
#pragma once

#include "uoad/uoad.h"

void notify_setsockopt(notif *n);
