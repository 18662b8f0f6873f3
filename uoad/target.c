/* uoad/target.c: safe access to a notifying process: its file
 * descriptors (pidfd_getfd) and its memory (process_vm_readv), each followed
 * by SECCOMP_IOCTL_NOTIF_ID_VALID so a recycled tid is never trusted. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/macro.h"
#include "uoad/notify_worker.h"
#include "uoad/target.h"
#include "uoad/uoad.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd for any thread, not only a leader */
#endif

static int pidfd_open_tgid_of(pid_t tid)
{
        char path[64], line[128];
        pid_t tgid = -1;
        FILE *f;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/status", tid);
        f = fopen(path, "re");
        if (!f)
                return -ESRCH;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Tgid: %d", &tgid) == 1)
                        break;
        fclose(f);
        if (tgid <= 0)
                return -ESRCH;
        fd = (int) syscall(SYS_pidfd_open, tgid, 0);
        return fd < 0 ? negative_errno() : fd;
}

/* The notification's pid is a thread id. Since 6.9 PIDFD_THREAD opens it
 * directly (target_fd_get); before, only a thread-group leader can be
 * opened, so fall back to its thread group (the fd table is shared by the
 * group either way). */
static int target_pidfd_open(pid_t tid)
{
        int fd = (int) syscall(SYS_pidfd_open, tid, 0);
        if (fd >= 0)
                return fd;
        return errno == ENOENT || errno == EINVAL ? pidfd_open_tgid_of(tid) : negative_errno();
}

bool target_notif_valid(int listener_fd, uint64_t id)
{
        return ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

bool target_id_valid(const notif *n)
{
        return target_notif_valid(n->l->fd, n->req->id);
}

/* pidfds of recently notifying threads, by tid, so that a thread's second
 * call costs no pidfd_open. Why a cached pidfd is safe: only PIDFD_THREAD
 * pidfds are kept, and one names a thread's struct pid, which was checked
 * (ID_VALID after opening) to be the notifier's. While any task holds that
 * struct pid it is the one live task with that tid, hence the thread now
 * notifying with it; once the tid has been freed (and maybe reused: a new
 * struct pid), pidfd_getfd on the old pidfd fails with ESRCH and we open
 * afresh. A thread-group pidfd (kernels before 6.9) could outlive the
 * thread and name another process's tid's group: never cached. A cache,
 * hence file-level statics. */
#define PIDFD_CACHE_SIZE 256
static struct {
        pid_t tid;
        int fd;
} pidfd_cache[PIDFD_CACHE_SIZE];

static pthread_mutex_t pidfd_cache_lock = PTHREAD_MUTEX_INITIALIZER; /* the workers share it */

static int getfd_cached(pid_t tid, int target_fd)
{
        unsigned slot = (unsigned) tid % PIDFD_CACHE_SIZE;
        int fd = -ESRCH;

        pthread_mutex_lock(&pidfd_cache_lock);
        if (pidfd_cache[slot].tid == tid && pidfd_cache[slot].fd > 0) {
                fd = (int) syscall(SYS_pidfd_getfd, pidfd_cache[slot].fd, target_fd, 0);
                if (fd < 0 && errno == ESRCH) {
                        close(pidfd_cache[slot].fd);
                        pidfd_cache[slot].fd = 0;
                        fd = -ESRCH;
                } else if (fd < 0)
                        fd = negative_errno();
        }
        pthread_mutex_unlock(&pidfd_cache_lock);
        return fd;
}

static void pidfd_cache_put(pid_t tid, int pidfd)
{
        unsigned slot = (unsigned) tid % PIDFD_CACHE_SIZE;

        pthread_mutex_lock(&pidfd_cache_lock);
        if (pidfd_cache[slot].fd > 0)
                close(pidfd_cache[slot].fd);
        pidfd_cache[slot].tid = tid;
        pidfd_cache[slot].fd = pidfd;
        pthread_mutex_unlock(&pidfd_cache_lock);
}

void target_cache_clear(void)
{
        pthread_mutex_lock(&pidfd_cache_lock);
        for (unsigned i = 0; i < PIDFD_CACHE_SIZE; i++)
                if (pidfd_cache[i].fd > 0) {
                        close(pidfd_cache[i].fd);
                        pidfd_cache[i].fd = 0;
                }
        pthread_mutex_unlock(&pidfd_cache_lock);
}

/* Our own duplicate of the target's fd. A pidfd opened here is checked
 * against the notification (ID_VALID after pidfd_open) so a tid that died
 * and was reused between RECV and here cannot hand us another process's
 * file. */
int target_fd_get(const notif *n, int target_fd)
{
        pid_t tid = (pid_t) n->req->pid;
        int pidfd, fd;
        bool thread = true;

        if (target_fd < 0)
                return -EBADF;
        fd = getfd_cached(tid, target_fd);
        if (fd != -ESRCH)
                return fd;
        pidfd = (int) syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
        if (pidfd < 0) {
                thread = false;
                pidfd = target_pidfd_open(tid);
                if (pidfd < 0)
                        return pidfd;
        }
        if (!target_id_valid(n)) {
                close(pidfd);
                return -ENOENT;
        }
        fd = (int) syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
        if (fd < 0)
                fd = negative_errno();
        if (thread)
                pidfd_cache_put(tid, pidfd);
        else
                close(pidfd);
        return fd;
}

/* Copy len bytes of the target's memory. A partial read is EFAULT, as the
 * kernel would answer for a bad user pointer. The caller checks ID_VALID
 * after all reads and before acting on them. The read may block as long as
 * the slice wants (a page of a FUSE file it serves): it blocks only this
 * worker, which the watchdog then leaves to the slice (notify_worker.c);
 * a slice that has stalled its share gets EFAULT here without a read. */
int target_mem_read(const notif *n, uint64_t addr, void *buf, size_t len)
{
        struct iovec local = { .iov_base = buf, .iov_len = len };
        struct iovec remote = { .iov_base = (void *) (uintptr_t) addr, .iov_len = len };
        ssize_t r;

        if (len == 0)
                return 0;
        if (addr == 0 || !notify_read_allowed(n->d, n->l->uid))
                return -EFAULT;
        r = process_vm_readv((pid_t) n->req->pid, &local, 1, &remote, 1, 0);
        if (r < 0)
                return errno == ESRCH ? -ENOENT : -EFAULT;
        return (size_t) r == len ? 0 : -EFAULT;
}

/* A sockaddr argument, capped as the kernel caps it (move_addr_to_kernel:
 * longer than sockaddr_storage is EINVAL). */
int target_sockaddr_read(const notif *n, uint64_t addr, uint64_t len,
                         struct sockaddr_storage *ret, size_t *ret_len)
{
        uint32_t l = (uint32_t) len; /* socklen_t: the upper 32 bits are ignored */
        int r;

        if (l > sizeof(*ret))
                return -EINVAL;
        memset(ret, 0, sizeof(*ret));
        r = target_mem_read(n, addr, ret, l);
        if (r < 0)
                return r;
        *ret_len = l;
        return 0;
}
