#!/bin/bash
# bench/scale.sh BUILD_DIR: what uoad's cost in kernel state and time is
# against the number of slices (issue 17), one run: for each size, uoad
# --engine bpf in a fresh namespace with a generated policy (bench/decide
# gen: one IPv4 and one IPv6 address per slice, optionally a table): time
# until its socket serves (everything applied), its resident memory, a
# one-line `uoamap add` (the reload of one slice), `uoamap show UID`; and
# root's unconnected UDP request/response rate to a routed peer while that
# uoad runs, over the same with no uoad (routing through every slice's
# `ip rule`s). Output on stdout and in BUILD_DIR/bench/scale.txt.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/integration/lib.sh
. "$HERE/../tests/integration/lib.sh"

UOA_ENGINE=bpf
uoat_traps
uoat_tmp_setup "${1:-build}" || exit 1
uoat_bpffs_setup || { uoat_warn "no bpf file system"; exit 1; }
OUT=$BUILD/bench/scale.txt
mkdir -p "$BUILD/bench"
N_RR=20000

# The peer for the routing row: root's datagrams go out of veth0 to P.
uoat_netns_add "$H" && uoat_netns_add "$P" || exit 1
ip -n "$H" link add veth0 type veth peer name veth0 netns "$P" &&
        ip -n "$H" addr add 10.77.0.1/24 dev veth0 && ip -n "$P" addr add 10.77.0.2/24 dev veth0 &&
        ip -n "$H" link set veth0 up && ip -n "$P" link set veth0 up || exit 1
uoat_spawn "$P" "$T/rr-server.log" "$BUILD/bench/rr" udp-server 5001
sleep 0.2

root_rr() { ip netns exec "$H" "$BUILD/bench/rr" udp-rr 10.77.0.2 5001 $N_RR | awk '{ print $2 }'; }

# size N [tables] [v4]: one row.
size() {
        local n=$1 how=${2:-} v4=${3:-} conf=$T/scale.conf sock=$T/scale.sock t0 up rss add show rr pid i
        "$BUILD/bench/decide" gen "$n" $how >"$conf" || return 1
        [ -n "$v4" ] && sed -i '/ fd00:/d' "$conf"
        t0=$(uoat_now_ms)
        uoat_uoad_spawn "$H" "$T/scale-uoad.log" --config "$conf" --socket "$sock"
        pid=$UOAT_LAST_PID
        for i in $(seq 1200); do
                [ -S "$sock" ] && break
                uoat_pid_alive "$pid" || break
                sleep 0.05
        done
        [ -S "$sock" ] || { uoat_warn "uoad with $n slices did not come up: $(tail -n 2 "$T/scale-uoad.log")"; return 1; }
        up=$(($(uoat_now_ms) - t0))
        uoat_pins_record "$T/scale-uoad.log"
        rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
        t0=$(uoat_now_ms)
        ip netns exec "$H" "$BUILD/uoamap" --socket "$sock" add "4000000 address 11.0.0.1" || return 1
        add=$(($(uoat_now_ms) - t0))
        t0=$(uoat_now_ms)
        ip netns exec "$H" "$BUILD/uoamap" --socket "$sock" show 200001 >/dev/null || return 1
        show=$(($(uoat_now_ms) - t0))
        rr=$(root_rr)
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null
        printf '%-8s %-14s %9s %9s %9s %9s %12s %6s\n' "$n" "${how:-addresses}${v4:+, IPv4}" "$up" "$rss" "$add" \
                "$show" "$rr" "$(awk -v a="$rr" -v b="$RR0" 'BEGIN { printf "%.2f", a / b }')"
}

RR0=$(root_rr)
{
        echo "uoa scale: $(uname -r), $(nproc) CPUs; one run; uoad --engine bpf"
        echo "(root udp-rr: root's unconnected UDP request/response to a routed peer while uoad runs; ratio: to no uoad, $RR0/s)"
        printf '%-8s %-14s %9s %9s %9s %9s %12s %6s\n' slices policy "up ms" "RSS kB" "add ms" "show ms" "root rr/s" ratio
        size 10 tables
        size 100 tables
        size 1000 tables
        size 10000 tables v4
        size 10000 tables
        size 1000
        size 10000
        size 100000
} | tee "$OUT"
