/* tests/integration/stallfs.c: uoa-stallfs DIR, a FUSE file system that
 * never answers a lookup: any path walk below DIR blocks until the file
 * system goes away — what a slice's own FUSE server can do to a bind.
 * uoa-stallfs --file DIR: DIR/f0 .. DIR/f9 are 4 KiB files that open but
 * whose reads are never answered: memory mapped from it blocks whoever reads it (the
 * slice passing it as a sockaddr, uoad's process_vm_readv). Run by root;
 * prints "ready" once mounted; SIGTERM/SIGINT detach the mount and exit
 * (the blocked walks and reads then fail). Speaks the kernel's protocol
 * directly (linux/fuse.h), so it needs no libfuse. */
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
static int file_mode; /* --file: DIR/f opens, its reads stall */
#define FILE_NODE 2 /* DIR/fN is node FILE_NODE + N */

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
        } else if (file_mode && (in->opcode == FUSE_LOOKUP || in->opcode == FUSE_GETATTR)) {
                const char *name = arg;
                uint64_t node = in->opcode == FUSE_LOOKUP ? FILE_NODE + (uint64_t) (name[1] - '0') : in->nodeid;
                struct fuse_attr attr = { .ino = node, .mode = 0100444, .nlink = 1, .size = 4096, .blocks = 8 };
                struct fuse_entry_out eo = { .nodeid = node, .attr = attr };
                struct fuse_attr_out ao = { .attr = attr };

                if (in->opcode == FUSE_LOOKUP && (name[0] != 'f' || name[1] < '0' || name[1] > '9' || name[2]))
                        reply(fd, in->unique, -ENOENT, NULL, 0);
                else if (in->opcode == FUSE_LOOKUP)
                        reply(fd, in->unique, 0, &eo, sizeof(eo));
                else
                        reply(fd, in->unique, 0, &ao, sizeof(ao));
        } else if (file_mode && in->opcode == FUSE_OPEN) {
                /* KEEP_CACHE: else open() invalidates the cache and waits
                 * for the page whose read never ends. */
                struct fuse_open_out oo = { .open_flags = FOPEN_KEEP_CACHE };

                reply(fd, in->unique, 0, &oo, sizeof(oo));
        } else if (file_mode && (in->opcode == FUSE_FLUSH || in->opcode == FUSE_RELEASE)) {
                reply(fd, in->unique, 0, NULL, 0);
        } else if (file_mode && in->opcode == FUSE_READ) {
                /* The stall: a page of the file is never read. */
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

        file_mode = argc == 3 && strcmp(argv[1], "--file") == 0;
        if (argc != 2 && !file_mode) {
                fprintf(stderr, "usage: uoa-stallfs [--file] DIR\n");
                return 2;
        }
        dir = argv[argc - 1];
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
