/* libuoa-preload/ifview.c: the slice's view (docs/design.md §4, `ip addr`
 * row) in glibc's interface calls. getifaddrs() and if_nameindex() read
 * rtnetlink on a socket glibc opens with its internal __socket(), which the
 * shim's socket() never sees; if_nametoindex() and if_indextoname() ask the
 * kernel by ioctl. Each is answered by glibc and then cut to what uoad's
 * proxy shows the slice: its link and address dumps, read here through a
 * proxied socket, are the view, so the rule lives in one place
 * (netlink-proxy/nlview.c). Without uoad's proxy nothing is cut: this is a
 * view, not a boundary (a static binary reads the kernel itself). */
#include <dlfcn.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/macro.h"
#include "libuoa-preload/preload.h"

#define VIEW_BUF 65536u /* a dump batch is at most 32 KiB (docs/design.md §7) */

typedef struct view_link {
        unsigned index;
        char name[IF_NAMESIZE];
} view_link;

typedef struct view_addr {
        unsigned index;
        int family;
        unsigned char bytes[16];
} view_addr;

typedef struct view {
        view_link *links;
        size_t n_links, cap_links;
        view_addr *addrs;
        size_t n_addrs, cap_addrs;
} view;

static void view_free(view *v)
{
        free(v->links);
        free(v->addrs);
        *v = (view){ 0 };
}

static int link_take(view *v, const struct nlmsghdr *nlh)
{
        const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
        int len = (int)nlh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
        view_link l = { 0 };

        if (len < 0)
                return 0;
        l.index = (unsigned)ifi->ifi_index;
        for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == IFLA_IFNAME && RTA_PAYLOAD(a) <= IF_NAMESIZE)
                        memcpy(l.name, RTA_DATA(a), RTA_PAYLOAD(a));
        l.name[IF_NAMESIZE - 1] = '\0';
        if (GROW(v->links, v->cap_links, v->n_links + 1, 16) < 0)
                return -ENOMEM;
        v->links[v->n_links++] = l;
        return 0;
}

/* IFA_LOCAL is the address on a point-to-point link (IFA_ADDRESS the
 * peer's), as glibc's getifaddrs() reads it. */
static int addr_take(view *v, const struct nlmsghdr *nlh)
{
        const struct ifaddrmsg *ifa = NLMSG_DATA(nlh);
        int len = (int)nlh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifa));
        const struct rtattr *local = NULL, *address = NULL, *a;
        size_t size = ifa->ifa_family == AF_INET ? 4 : ifa->ifa_family == AF_INET6 ? 16 : 0;
        view_addr x = { .index = ifa->ifa_index, .family = ifa->ifa_family };

        if (len < 0 || size == 0)
                return 0;
        for (a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (a->rta_type == IFA_LOCAL)
                        local = a;
                else if (a->rta_type == IFA_ADDRESS)
                        address = a;
        }
        a = local ? local : address;
        if (!a || RTA_PAYLOAD(a) != size)
                return 0;
        memcpy(x.bytes, RTA_DATA(a), size);
        if (GROW(v->addrs, v->cap_addrs, v->n_addrs + 1, 16) < 0)
                return -ENOMEM;
        v->addrs[v->n_addrs++] = x;
        return 0;
}

/* One dump of type on fd, each message handed to take. */
static int dump(int fd, uint16_t type, size_t hdr, int (*take)(view *, const struct nlmsghdr *), view *v)
{
        struct {
                struct nlmsghdr nlh;
                unsigned char family[sizeof(struct ifinfomsg)];
        } req = { .nlh = { .nlmsg_len = (uint32_t)NLMSG_LENGTH(hdr), .nlmsg_type = type,
                           .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = type } };
        _cleanup_free_ unsigned char *buf = malloc(VIEW_BUF);

        if (!buf)
                return -ENOMEM;
        if (send(fd, &req, req.nlh.nlmsg_len, 0) < 0)
                return -errno;
        for (;;) {
                ssize_t n = recv(fd, buf, VIEW_BUF, 0);
                int left = (int)n;

                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                for (const struct nlmsghdr *nlh = (void *)buf; NLMSG_OK(nlh, (unsigned)left);
                     nlh = NLMSG_NEXT(nlh, left)) {
                        int r;

                        if (nlh->nlmsg_seq != type)
                                continue;
                        if (nlh->nlmsg_type == NLMSG_DONE)
                                return 0;
                        if (nlh->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(nlh);

                                return nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error < 0 ? e->error : -EIO;
                        }
                        r = take(v, nlh);
                        if (r < 0)
                                return r;
                }
        }
}

/* The slice's view through uoad's proxy: 0, -ENOTSUP if there is no proxy
 * (the kernel's view is then the process's anyway), or -errno. */
static int view_fetch(view *v, bool with_addrs)
{
        int saved = errno, fd, r;

        *v = (view){ 0 };
        /* The shim's own socket(): proxied if uoad is there. */
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        if (!nl_maybe(fd))
                r = -ENOTSUP;
        else {
                r = dump(fd, RTM_GETLINK, sizeof(struct ifinfomsg), link_take, v);
                if (r == 0 && with_addrs)
                        r = dump(fd, RTM_GETADDR, sizeof(struct ifaddrmsg), addr_take, v);
        }
        close(fd);
        if (r < 0)
                view_free(v);
        errno = saved;
        return r;
}

static const view_link *view_link_by_name(const view *v, const char *name)
{
        for (size_t i = 0; name && i < v->n_links; i++)
                if (strncmp(v->links[i].name, name, IF_NAMESIZE) == 0)
                        return &v->links[i];
        return NULL;
}

static bool view_has_index(const view *v, unsigned index)
{
        for (size_t i = 0; i < v->n_links; i++)
                if (v->links[i].index == index)
                        return true;
        return false;
}

#define REAL_IF(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

/* Exported. A hidden link is one that does not exist: 0 and ENODEV, as
 * glibc answers for a name the kernel does not know. */
unsigned if_nametoindex(const char *name)
{
        unsigned (*real)(const char *) = REAL_IF(if_nametoindex);
        unsigned index = real ? real(name) : 0;
        view v;

        if (index == 0 || view_fetch(&v, false) < 0)
                return index;
        if (!view_has_index(&v, index)) {
                index = 0;
                errno = ENODEV;
        }
        view_free(&v);
        return index;
}

/* Exported. glibc's answer for an index the kernel does not know: ENXIO. */
char *if_indextoname(unsigned index, char name[IF_NAMESIZE])
{
        char *(*real)(unsigned, char *) = REAL_IF(if_indextoname);
        char *r = real ? real(index, name) : NULL;
        view v;

        if (!r || view_fetch(&v, false) < 0)
                return r;
        if (!view_has_index(&v, index)) {
                r = NULL;
                errno = ENXIO;
        }
        view_free(&v);
        return r;
}

/* Exported. The hidden entries are taken out of glibc's array in place, so
 * if_freenameindex() (each name, then the array) frees it as before. */
struct if_nameindex *if_nameindex(void)
{
        struct if_nameindex *(*real)(void) = REAL_IF(if_nameindex);
        struct if_nameindex *list = real ? real() : NULL;
        size_t kept = 0;
        view v;

        if (!list || view_fetch(&v, false) < 0)
                return list;
        for (size_t i = 0; list[i].if_index != 0 || list[i].if_name; i++) {
                if (view_has_index(&v, list[i].if_index))
                        list[kept++] = list[i];
                else
                        free(list[i].if_name);
        }
        list[kept] = (struct if_nameindex){ 0 };
        view_free(&v);
        return list;
}

static bool view_has_addr(const view *v, unsigned index, const struct sockaddr *sa)
{
        const void *bytes;
        size_t size;

        if (sa->sa_family == AF_INET) {
                bytes = &((const struct sockaddr_in *)sa)->sin_addr;
                size = 4;
        } else {
                bytes = &((const struct sockaddr_in6 *)sa)->sin6_addr;
                size = 16;
        }
        for (size_t i = 0; i < v->n_addrs; i++)
                if (v->addrs[i].index == index && v->addrs[i].family == sa->sa_family &&
                    memcmp(v->addrs[i].bytes, bytes, size) == 0)
                        return true;
        return false;
}

/* An entry the slice sees: an address of its view on that link (the
 * slice's own address may sit on a link it does not see), anything else
 * (the link's AF_PACKET entry) of a link it sees. */
static bool ifaddr_visible(const view *v, const struct ifaddrs *ifa)
{
        unsigned (*index_of)(const char *) = REAL_IF(if_nametoindex);

        if (ifa->ifa_addr && (ifa->ifa_addr->sa_family == AF_INET || ifa->ifa_addr->sa_family == AF_INET6))
                return index_of && view_has_addr(v, index_of(ifa->ifa_name), ifa->ifa_addr);
        return view_link_by_name(v, ifa->ifa_name) != NULL;
}

/* Exported. glibc's list is one allocation that freeifaddrs() frees at its
 * head (free(ifa)): hidden entries are unlinked, and if the head itself is
 * hidden, the first visible entry's fields are copied into it (its
 * pointers stay valid: they point into the same allocation). */
int getifaddrs(struct ifaddrs **ret)
{
        int (*real)(struct ifaddrs **) = REAL_IF(getifaddrs);
        struct ifaddrs *head, **link, *first = NULL;
        int r = real ? real(ret) : -1;
        view v;

        if (r < 0 || !*ret || view_fetch(&v, true) < 0)
                return r;
        head = *ret;
        link = &first;
        for (struct ifaddrs *ifa = head; ifa; ifa = ifa->ifa_next)
                if (ifaddr_visible(&v, ifa)) {
                        *link = ifa;
                        link = &ifa->ifa_next;
                }
        *link = NULL;
        view_free(&v);
        if (!first) {
                freeifaddrs(head);
                *ret = NULL;
        } else if (first != head)
                *head = *first;
        return 0;
}
