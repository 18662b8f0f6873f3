/* common/wire.h: the control/registration protocol between uoad and its
 * clients (uoa-run, uoamap) on one AF_UNIX SOCK_SEQPACKET socket.
 *
 * One request per connection: the client sends one message of text, the
 * daemon answers with one or more messages and closes. Requests:
 *   "register UID FD"   uoa-run (effective uid 0 only): pull listener FD
 *   "show [UID]"        anyone: the policy, canonical lines
 *   "traps UID"         anyone: "traps N", the POLICY_TRAP_* bits of the calls
 *                       uid's filter must trap (all with the seccomp engine)
 *   "status"            anyone: "KEY VALUE" lines: engine (bpf|seccomp),
 *                       sessions, slices, wildcard (every-address: BPF
 *                       steers a slice's wildcard sockets; primary: it has
 *                       no BPF), and pinned (the programs' pin directory)
 *                       when BPF is in use
 *   "add\nLINE..." / "del\nLINE..." / "reload"   root only
 *   "netlink"           a slice's process (the shim): an rtnetlink proxy
 * The reply starts with "ok\n" or "error ERRNO MESSAGE\n"; what follows is
 * the payload (show: policy lines).
 *
 * "netlink" is the one request after which the connection stays open. Its
 * answer is "ok PORTID\n" with SCM_RIGHTS carrying the data socket (one end
 * of a SOCK_SEQPACKET pair): replies and notifications arrive there, one
 * datagram per kernel batch (<= 32 KiB), so the client reads it like a
 * netlink socket. The control connection then carries binary messages, each
 * answered with one int32 (host order):
 *   'R' + a netlink datagram      a request. Answer: its length or -errno;
 *                                 the immediate replies (acks, errors, the
 *                                 first dump batch) are queued on the data
 *                                 socket before the answer is sent.
 *   'S' + u32 option + u32 value  a SOL_NETLINK option (NETLINK_EXT_ACK,
 *                                 NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK,
 *                                 NETLINK_NO_ENOBUFS, NETLINK_ADD_MEMBERSHIP,
 *                                 NETLINK_DROP_MEMBERSHIP). Answer 0 or -errno.
 *   'G' + u32 groups              bind()'s legacy nl_groups mask. Answer 0 or -errno. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#define WIRE_DEFAULT_SOCKET "/run/uoa/uoad.sock"

/* The socket's path (docs/design.md §8): arg (--socket) if given, else
 * $UOA_SOCKET, else the default; an empty one means the default. Inline:
 * the shim links none of common/. getenv(), not secure_getenv(): uoa-run,
 * which runs setuid, says why and checks what it names. */
static inline const char *wire_socket_path(const char *arg)
{
        const char *p = arg ? arg : getenv("UOA_SOCKET");

        return p && *p ? p : WIRE_DEFAULT_SOCKET;
}
#define WIRE_REQUEST_MAX 65536u  /* longer requests are refused */
#define WIRE_CHUNK 32768u        /* reply message size */

/* The netlink channel's message types (first byte). */
#define WIRE_NL_REQUEST 'R'
#define WIRE_NL_SOCKOPT 'S'
#define WIRE_NL_GROUPS 'G'

typedef enum wire_verb {
        WIRE_REGISTER,
        WIRE_SHOW,
        WIRE_ADD,
        WIRE_DEL,
        WIRE_RELOAD,
        WIRE_NETLINK,
        WIRE_STATUS,
        WIRE_TRAPS,
        _WIRE_VERB_MAX,
} wire_verb;

typedef struct wire_request {
        wire_verb verb;
        uid_t uid;          /* register; show with has_uid */
        int has_uid;
        int fd;             /* register: the listener's fd number in the peer */
        const char *body;   /* add/del: the policy lines (points into the input) */
        size_t body_len;
} wire_request;

/* Parse one request message. Returns 0 or -EINVAL (unknown verb, bad number,
 * trailing garbage, NUL byte) or -E2BIG. Pure. */
int wire_request_parse(const char *buf, size_t len, wire_request *ret);

/* Client side: connect to path (SOCK_SEQPACKET), returns fd or -errno. */
int wire_connect(const char *path);
/* Send one request and read the whole reply (until the daemon closes).
 * On success *ret_reply is malloc'ed, NUL-terminated; *ret_len excludes the NUL. */
int wire_call(int fd, const char *req, size_t len, char **ret_reply, size_t *ret_len);
/* Split a reply into status and payload: returns 0 for "ok", or the negative
 * errno of an "error" reply with *ret_msg pointing at its message; -EBADMSG for
 * a malformed reply. *ret_payload points after the status line. */
int wire_reply_status(char *reply, const char **ret_msg, const char **ret_payload);
