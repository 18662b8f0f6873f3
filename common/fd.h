/* common/fd.h: small fd helpers shared by the daemon's event loop. */
#pragma once

#include <sys/epoll.h>
#include <unistd.h>

/* Stop watching fd in epoll_fd and close it. Deleting first matters only
 * for a file that has other fds open: epoll drops an entry by itself when
 * the file's last fd is closed, not when one of several is. */
static inline void fd_unwatch_close(int epoll_fd, int fd)
{
        (void) epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        close(fd);
}
