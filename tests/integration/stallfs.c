/* tests/integration/stallfs.c: uoa-stallfs DIR, a FUSE file system that
 * never answers a lookup: any path walk below DIR blocks until the file
 * system goes away — what a slice's own FUSE server can do to a bind. Run by
 * root; prints "ready" once mounted; SIGTERM/SIGINT detach the mount and
 * exit (the blocked walks then fail with ENOTCONN). Speaks the kernel's
 * protocol directly (linux/fuse.h), so it needs no libfuse. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *dir;

static void stop(int sig)
{
        (void) sig;
        umount2(dir, MNT_DETACH);
        _exit(0);
}

static void reply(int fd, uint64_t unique, int error, const void *data, size_t len)
{
        struct fuse_out_header h = { .len = (uint32_t) (sizeof(h) + len), .error = error, .unique = unique };
        struct iovec iov[2] = { { &h, sizeof(h) }, { (void *) data, len } };

        (void) !writev(fd, iov, data ? 2 : 1);
}

static void answer(int fd, const struct fuse_in_header *in, const void *arg)
{
        if (in->opcode == FUSE_INIT) {
                const struct fuse_init_in *ii = arg;
                struct fuse_init_out io = { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
                                            .max_readahead = ii->max_readahead, .max_write = 4096 };

                reply(fd, in->unique, 0, &io, sizeof(io));
        } else if (in->opcode == FUSE_GETATTR && in->nodeid == FUSE_ROOT_ID) {
                struct fuse_attr_out ao = { .attr = { .ino = FUSE_ROOT_ID, .mode = 040777, .nlink = 2 } };

                reply(fd, in->unique, 0, &ao, sizeof(ao));
        } else if (in->opcode == FUSE_LOOKUP || in->opcode == FUSE_INTERRUPT || in->opcode == FUSE_FORGET ||
                   in->opcode == FUSE_BATCH_FORGET || in->opcode == FUSE_DESTROY) {
                /* The stall (LOOKUP), or nothing to answer. */
        } else
                reply(fd, in->unique, -ENOSYS, NULL, 0);
}

int main(int argc, char **argv)
{
        static char buf[FUSE_MIN_READ_BUFFER + 1024 * 1024];
        char opts[128];
        int fd;

        if (argc != 2) {
                fprintf(stderr, "usage: uoa-stallfs DIR\n");
                return 2;
        }
        dir = argv[1];
        fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                perror("uoa-stallfs: /dev/fuse");
                return 1;
        }
        snprintf(opts, sizeof(opts), "fd=%d,rootmode=40777,user_id=0,group_id=0,allow_other", fd);
        if (mount("uoa-stallfs", dir, "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
                perror("uoa-stallfs: mount");
                return 1;
        }
        signal(SIGTERM, stop);
        signal(SIGINT, stop);
        printf("ready\n");
        fflush(stdout);
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT))
                        continue; /* ENOENT: a request was interrupted */
                if (n < (ssize_t) sizeof(struct fuse_in_header))
                        break; /* ENODEV: unmounted */
                answer(fd, (struct fuse_in_header *) buf, buf + sizeof(struct fuse_in_header));
        }
        return 0;
}
