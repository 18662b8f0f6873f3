#!/bin/bash
# tests/integration/wildcard.sh BUILD_DIR: a slice's wildcard socket serves
# every address of the slice and, for the slice's own processes, loopback;
# never another slice's or the host's address (docs/design.md §4, first row).
# Ordinary programs: Python's socket.create_server and friends (wildsrv.py).
# Builds its own world (lib.sh), removes it on any exit, ends with
# "N passed, M failed".
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$HERE/lib.sh"

if [ $# -ne 1 ]; then
        echo "usage: $0 BUILD_DIR" >&2
        exit 2
fi

# UA holds two IPv4 addresses (.11 primary, .30) and one IPv6; UB one of each.
wild_policy() {
        cat <<EOP
$UA address 10.77.0.11
$UA address 10.77.0.30
$UA address fd77::11
$UB address 10.77.0.12
$UB address fd77::12
EOP
}

SRV=""
PY=/usr/bin/python3 # Debian's, which slice users can run (not a root-only pyenv shim)
# serve USER LOG ARGS...: a wildsrv.py server as USER under uoa-run, in the
# background; waits for its "ready".
serve() {
        local user=$1 log=$T/$2 i
        shift 2
        uoat_slice_argv "$user" "$PY" "$T/bin/wildsrv.py" serve "$@"
        "${UOAT_CMD[@]}" >"$log" 2>&1 </dev/null &
        UOAT_PIDS+=($!)
        SRV=$!
        for i in $(seq 50); do
                grep -q '^ready' "$log" 2>/dev/null && return 0
                uoat_pid_alive "$SRV" || break
                sleep 0.1
        done
        uoat_warn "wildsrv $* as $user did not start:"
        sed 's/^/  /' "$log" >&2
        return 1
}

peer_asks() { uoat_capture ip netns exec "$P" "$PY" "$T/bin/wildsrv.py" ask "$@"; }
root_asks() { uoat_host "$PY" "$T/bin/wildsrv.py" ask "$@"; }
slice_asks() { local u=$1; shift; uoat_slice_run "$u" "$PY" "$T/bin/wildsrv.py" ask "$@"; }

tcp_checks() {
        serve "$UA" a5000.log A tcp 4 5000 || uoat_fail "UA's TCP wildcard server starts" "ready" "see above"
        A5000=$SRV
        peer_asks tcp 10.77.0.11 5000
        uoat_expect "tcp: the peer reaches UA's wildcard on its primary address" "A local=10.77.0.11:5000 peer=10.77.0.11:5000"
        peer_asks tcp 10.77.0.30 5000
        uoat_expect "tcp: ... and on its second address" "A local=10.77.0.30:5000 peer=10.77.0.30:5000"
        peer_asks tcp 10.77.0.1 5000
        uoat_expect "tcp: the host's address is not UA's" "err ECONNREFUSED"
        peer_asks tcp 10.77.0.12 5000
        uoat_expect "tcp: nor is UB's" "err ECONNREFUSED"
        slice_asks "$UA" tcp 127.0.0.1 5000
        uoat_expect "tcp: UA's own process reaches it on 127.0.0.1 (getpeername says so)" "A local=10.77.0.11:5000 peer=127.0.0.1:5000"
        slice_asks "$UB" tcp 127.0.0.1 5000
        uoat_expect "tcp: another slice's process does not" "err ECONNREFUSED"
        root_asks tcp 127.0.0.1 5000
        uoat_expect "tcp: nor does root's" "err ECONNREFUSED"

        serve "$UB" b5000.log B tcp 4 5000 || uoat_fail "UB's TCP wildcard server on the same port starts" "ready" "see above"
        peer_asks tcp 10.77.0.12 5000
        uoat_expect "tcp: two slices hold wildcard port 5000: UB's answers on UB's address" "B local=10.77.0.12:5000 peer=10.77.0.12:5000"
        peer_asks tcp 10.77.0.30 5000
        uoat_expect "tcp: ... UA's still on UA's second address" "A local=10.77.0.30:5000 peer=10.77.0.30:5000"
        slice_asks "$UB" tcp 127.0.0.1 5000
        uoat_expect "tcp: ... and each slice's loopback reaches its own" "B local=10.77.0.12:5000 peer=127.0.0.1:5000"
        uoat_slice_run "$UA" "$PY" "$T/bin/wildsrv.py" ftp
        uoat_expect "tcp: active-FTP style: the data listener is reached at the control connection's local address" "ok data via *"
}

dual_checks() {
        serve "$UA" a5001.log A tcp dual 5001 || uoat_fail "UA's dual-stack server starts" "ready" "see above"
        peer_asks tcp fd77::11 5001
        uoat_expect "dual-stack: the peer reaches UA's :: on its IPv6 address" "A local=[fd77::11]:5001 peer=[fd77::11]:5001"
        peer_asks tcp 10.77.0.30 5001
        uoat_expect "dual-stack: ... and on its IPv4 addresses" "A local=[::ffff:10.77.0.30]:5001 peer=10.77.0.30:5001"
        peer_asks tcp fd77::12 5001
        uoat_expect "dual-stack: not on UB's" "err ECONNREFUSED"
        slice_asks "$UA" tcp ::1 5001
        uoat_expect "dual-stack: UA's process reaches it on ::1" "A local=[fd77::11]:5001 peer=[::1]:5001"
        slice_asks "$UA" tcp 127.0.0.1 5001
        uoat_expect "dual-stack: ... and on 127.0.0.1" "A local=[::ffff:10.77.0.11]:5001 peer=127.0.0.1:5001"
        serve "$UA" a5004.log A6 tcp 6 5004 || uoat_fail "UA's v6only server starts" "ready" "see above"
        peer_asks tcp 10.77.0.30 5004
        uoat_expect "v6only: IPv4 is not served" "err ECONNREFUSED"
        peer_asks tcp fd77::11 5004
        uoat_expect "v6only: IPv6 is" "A6 local=[fd77::11]:5004 peer=[fd77::11]:5004"
}

udp_checks() {
        serve "$UA" a5002.log A udp 4 5002 pktinfo || uoat_fail "UA's UDP server (IP_PKTINFO) starts" "ready" "see above"
        peer_asks udp 10.77.0.30 5002
        uoat_expect "udp: a datagram to UA's second address is served; IP_PKTINFO replies from it" "A local=10.77.0.30 peer=10.77.0.30:5002"
        peer_asks udp 10.77.0.11 5002
        uoat_expect "udp: ... and to its primary" "A local=10.77.0.11 peer=10.77.0.11:5002"
        peer_asks udp 10.77.0.12 5002
        uoat_expect "udp: not to UB's address" "err *"
        slice_asks "$UA" udp 127.0.0.1 5002
        uoat_expect "udp: UA's process on 127.0.0.1 (recvfrom says so)" "A local=10.77.0.11 peer=127.0.0.1:5002"
        serve "$UA" a5003.log A udp 4 5003 || uoat_fail "UA's UDP server starts" "ready" "see above"
        peer_asks udp 10.77.0.30 5003
        uoat_expect "udp: without IP_PKTINFO the reply leaves from the primary address" "A local=10.77.0.11:5003 peer=10.77.0.11:5003"
        # A dual-stack UDP socket stays on the primary IPv6 (enforcement.md).
        serve "$UA" a5005.log A udp dual 5005 || uoat_fail "UA's dual-stack UDP server starts" "ready" "see above"
        peer_asks udp fd77::11 5005
        uoat_expect "udp: a dual-stack :: serves IPv6" "A local=[fd77::11]:5005 peer=[fd77::11]:5005"
}

# The kernel engine: the same for a process of the slice that uoa-run did
# not start (cron, a daemon).
unwrapped_checks() {
        local log=$T/u5006.log i
        uoat_bpf || return 0
        ip netns exec "$H" setpriv --reuid="$UA" --regid="$UA" --clear-groups \
                "$PY" "$T/bin/wildsrv.py" serve U tcp 4 5006 >"$log" 2>&1 </dev/null &
        UOAT_PIDS+=($!)
        for i in $(seq 50); do grep -q '^ready' "$log" && break; sleep 0.1; done
        peer_asks tcp 10.77.0.30 5006
        uoat_expect "unwrapped: UA's wildcard server without uoa-run is served on its second address" "U local=10.77.0.30:5006 peer=10.77.0.30:5006"
        peer_asks tcp 10.77.0.1 5006
        uoat_expect "unwrapped: ... and not on the host's" "err ECONNREFUSED"
}

# uoamap del/add of an address reaches the existing listener at once.
live_checks() {
        uoat_capture ip netns exec "$H" "$T/bin/uoamap" --socket "$SOCK" del "$UA address 10.77.0.30"
        uoat_check "live: uoamap del of UA's second address" "$RC" "exit 0" "$(uoat_got) $ERR"
        peer_asks tcp 10.77.0.30 5000
        uoat_expect "live: the removed address is no longer served" "err ECONNREFUSED"
        uoat_capture ip netns exec "$H" "$T/bin/uoamap" --socket "$SOCK" add "$UA address 10.77.0.30"
        uoat_check "live: uoamap add of it again" "$RC" "exit 0" "$(uoat_got) $ERR"
        peer_asks tcp 10.77.0.30 5000
        uoat_expect "live: the added address is served by the listener already there" "A local=10.77.0.30:5000 peer=10.77.0.30:5000"
        # A socket leaves the steering when it closes.
        kill "$A5000" 2>/dev/null
        wait "$A5000" 2>/dev/null
        peer_asks tcp 10.77.0.30 5000
        uoat_expect "closed: UA's listener gone, its second address refuses" "err ECONNREFUSED"
        slice_asks "$UA" tcp 127.0.0.1 5000
        uoat_expect "closed: ... and so does its loopback" "err ECONNREFUSED"
        peer_asks tcp 10.77.0.12 5000
        uoat_expect "closed: UB's listener on the same port is untouched" "B local=10.77.0.12:5000 peer=10.77.0.12:5000"
}

main() {
        uoat_traps
        uoat_need "$PY" && uoat_tmp_setup "$1" && uoat_bpffs_setup && uoat_net_setup && uoat_users_setup ||
                { uoat_fail "world setup" "a world" "setup failed"; uoat_summary; exit 1; }
        wild_policy >"$T/uoa.conf"
        uoat_bins_install || uoat_warn "some binaries are missing"
        cp "$HERE/wildsrv.py" "$T/bin/" && chmod 755 "$T/bin/wildsrv.py"
        if ! uoat_uoad_start; then
                uoat_fail "uoad starts" "a socket" "none"
                uoat_summary
                exit 1
        fi
        if ! grep -Eq "^wildcard +every-address" < <(ip netns exec "$H" "$T/bin/uoamap" --socket "$SOCK" status); then
                echo "# no BPF: a wildcard serves the primary address only (docs/enforcement.md); skipped"
                sed 's/^/#   uoad.log: /' "$T/uoad.log"
                uoat_summary
                exit
        fi
        tcp_checks
        dual_checks
        udp_checks
        unwrapped_checks
        live_checks
        uoat_summary
}

main "$@"
