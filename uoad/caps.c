/* uoad/caps.c: uoad's least privilege. It runs as root but keeps only the
 * capabilities below, in every set, from the start of main() on; the shipped
 * unit (docs/systemd/uoad.service) bounds it to the same list and
 * tests/integration/run.sh checks /proc/PID/status of a running uoad against
 * both. */
#include <errno.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "common/macro.h"
#include "uoad/caps.h"

/* Every capability uoad uses, and what for. Keep in step with the unit's
 * CapabilityBoundingSet (the integration suite compares the two). */
static const cap_value_t caps_kept[] = {
        CAP_SYS_PTRACE,       /* pidfd_getfd and process_vm_readv on supervised processes
                               * of other uids; /proc/TID/root and cwd of a caller (caller.c) */
        CAP_NET_ADMIN,        /* nftables guard, ip rules, slice tables and routes, the
                               * netlink relay, shaping qdiscs, attaching cgroup and
                               * sk_lookup programs (engine_bpf.c) */
        CAP_NET_BIND_SERVICE, /* binding slices' sockets to ports < 1024 (dedicated addresses) */
        CAP_NET_RAW,          /* raw sockets made for slices granted `raw` (notify_socket.c) */
        CAP_SETUID,           /* setfsuid to the slice while making a raw socket; the caller
                               * threads' setresuid and setfsuid (caller.c) */
        CAP_SETGID,           /* the caller threads' setgroups, setresgid, setfsgid */
        CAP_SYS_CHROOT,       /* the caller threads enter the caller's root directory */
        CAP_DAC_READ_SEARCH,  /* the caller threads fchdir/chroot into a caller's root and
                               * cwd, which may be a directory only the slice may search */
        CAP_SYS_ADMIN,        /* the kernel engine mounts bpffs and, under `ip netns exec`,
                               * cgroup2 in a private mount namespace (unshare) */
        CAP_BPF,              /* loading the kernel engine's programs and maps (5.8) */
        CAP_PERFMON,          /* the verifier's pointer rules for those programs (5.8) */
};

static bool cap_is_kept(cap_value_t c)
{
        for (size_t i = 0; i < ELEMENTSOF(caps_kept); i++)
                if (caps_kept[i] == c)
                        return true;
        return false;
}

static bool holds_any(void)
{
        cap_t cur = cap_get_proc();
        cap_t none = cap_init();
        bool any = !cur || !none || cap_compare(cur, none) != 0;

        cap_free(cur);
        cap_free(none);
        return any;
}

int caps_drop(void)
{
        cap_t cur, want;
        int r = 0;

        if (!holds_any())
                return 0;
        /* PR_CAPBSET_DROP needs CAP_SETPCAP, which is not kept: all of the
         * bounding set first. A uoad started already bounded (the unit) has
         * nothing to drop here. */
        for (cap_value_t c = 0; c < (cap_value_t) cap_max_bits(); c++)
                if (!cap_is_kept(c) && cap_get_bound(c) == 1 && cap_drop_bound(c) < 0)
                        return -errno;
        cur = cap_get_proc();
        want = cap_init();
        if (!cur || !want) {
                r = -ENOMEM;
                goto out;
        }
        /* Only what we hold: raising a capability outside the permitted set
         * fails, and uoad never gains one. */
        for (size_t i = 0; i < ELEMENTSOF(caps_kept); i++) {
                cap_flag_value_t v = CAP_CLEAR;

                if (cap_get_flag(cur, caps_kept[i], CAP_PERMITTED, &v) == 0 && v == CAP_SET) {
                        cap_set_flag(want, CAP_PERMITTED, 1, &caps_kept[i], CAP_SET);
                        cap_set_flag(want, CAP_EFFECTIVE, 1, &caps_kept[i], CAP_SET);
                }
        }
        if (cap_set_proc(want) < 0 || (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() < 0))
                r = -errno;
out:
        cap_free(cur);
        cap_free(want);
        return r;
}
