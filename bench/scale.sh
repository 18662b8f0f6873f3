#!/bin/bash
# bench/scale.sh BUILD_DIR: what uoad's cost in kernel state and time is
# against the number of slices (issue 17), one run: for each size, uoad
# --engine bpf in a fresh namespace with a generated policy (bench/decide
# gen: one IPv4 and one IPv6 address per slice, optionally a table): time
# until its socket serves (everything applied), its resident memory, a
# one-line `uoamap add` (the reload of one slice; then one that gives it a
# table, which changes routing rules), `uoamap show UID`; and the cost of
# routing and the guard per packet: unconnected UDP request/response and TCP
# connect rates to a routed peer, root's (ratio to no uoad) and a slice's
# (the middle one of the generated policy, unwrapped: the kernel engine
# binds its sockets; ratio to the same slice with 10 slices). Every packet
# passes the guard's nft sets and the rule trees (policy/policy_rules.c).
# Output on stdout and in BUILD_DIR/bench/scale.txt.
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
N_RR=10000

# The peer for the routing row: root's datagrams go out of veth0 to P.
uoat_netns_add "$H" && uoat_netns_add "$P" || exit 1
ip -n "$H" link add veth0 type veth peer name veth0 netns "$P" &&
        ip -n "$H" addr add 10.77.0.1/24 dev veth0 && ip -n "$P" addr add 10.77.0.2/24 dev veth0 &&
        ip -n "$H" link set veth0 up && ip -n "$P" link set veth0 up || exit 1
uoat_spawn "$P" "$T/rr-server.log" "$BUILD/bench/rr" udp-server 5001
sleep 0.2

uoat_spawn "$P" "$T/crr-server.log" "$BUILD/bench/rr" tcp-server 5002
# The slices' addresses (bench/decide gen: 10.0.0.0/12) are on-link for P.
ip -n "$P" route add 10.0.0.0/12 dev veth0 || exit 1
sleep 0.2

# rate AS TEST N [SRC]: per second, `rr TEST` to P as root or uid AS (route:
# route lookups, bound to SRC if given): the median of five runs.
rate() {
        local as=$1 test=$2 n=$3 port=5001 i
        [ "$test" = tcp-crr ] && port=5002
        for i in 1 2 3 4 5; do
                ip netns exec "$H" setpriv --reuid="$as" --regid="$as" --clear-groups \
                        "$BUILD/bench/rr" "$test" 10.77.0.2 $port "$n" ${4:-} | awk '{ print $2 }'
        done | sort -g | sed -n 3p
}
# rates AS [SRC]: "LOOKUPS UDP CRR" of AS (from SRC).
rates() {
        echo "$(rate "$1" route $N_ROUTE ${2:-}) $(rate "$1" udp-rr $N_RR) $(rate "$1" tcp-crr $N_CRR)"
}
# shown "L U C" "BASE_L BASE_U BASE_C": each with its ratio to the base.
shown() {
        local v b
        read -r -a v <<<"$1"
        read -r -a b <<<"$2"
        printf '%9.0f %4s %7.0f %4s %6.0f %4s' "${v[0]}" "$(ratio "${v[0]}" "${b[0]}")" "${v[1]}" \
                "$(ratio "${v[1]}" "${b[1]}")" "${v[2]}" "$(ratio "${v[2]}" "${b[2]}")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# size N [tables] [v4]: one row.
size() {
        local n=$1 how=${2:-} v4=${3:-} conf=$T/scale.conf sock=$T/scale.sock t0 up rss add addt show stop pid i
        local mid a addr="" line
        "$BUILD/bench/decide" gen "$n" $how >"$conf" || return 1
        # The measured slice: decide gen's slice n/2 (uid 200000 + i,
        # address 10.a/24 with a = i + 1), its address on the host.
        mid=$((200000 + n / 2)) a=$((n / 2 + 1))
        addr=10.$(((a >> 16) & 255)).$(((a >> 8) & 255)).$((a & 255))
        ip -n "$H" addr add "$addr/32" dev veth0 || return 1
        [ -n "$v4" ] && sed -i '/ fd00:/d' "$conf"
        t0=$(uoat_now_ms)
        uoat_uoad_spawn "$H" "$T/scale-uoad.log" --config "$conf" --socket "$sock"
        pid=$UOAT_LAST_PID
        # Up to 3 minutes: 10 000 IPv6 tables take the kernel about a minute.
        for i in $(seq 3600); do
                [ -S "$sock" ] && break
                uoat_pid_alive "$pid" || break
                sleep 0.05
        done
        if [ ! -S "$sock" ]; then
                uoat_warn "uoad with $n slices did not come up: $(tail -n 2 "$T/scale-uoad.log")"
                kill -TERM "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
                ip -n "$H" addr del "$addr/32" dev veth0
                return 1
        fi
        up=$(($(uoat_now_ms) - t0))
        uoat_pins_record "$T/scale-uoad.log"
        rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
        t0=$(uoat_now_ms)
        ip netns exec "$H" "$BUILD/uoamap" --socket "$sock" add "4000000 address 11.0.0.1" || return 1
        add=$(($(uoat_now_ms) - t0))
        t0=$(uoat_now_ms)
        ip netns exec "$H" "$BUILD/uoamap" --socket "$sock" add "4000000 table 4000000" || return 1
        addt=$(($(uoat_now_ms) - t0))
        t0=$(uoat_now_ms)
        ip netns exec "$H" "$BUILD/uoamap" --socket "$sock" show 200001 >/dev/null || return 1
        show=$(($(uoat_now_ms) - t0))
        if [ -n "$how" ] && [ "$n" -le 10000 ]; then
                # Routing and the guard per packet: root's lookups unbound and
                # from the host's address, a slice's from its own, and their
                # request/response and connect rates.
                {
                        printf '%-7s %-13s ' "$n" "${how:-addresses}${v4:+, IPv4}"
                        line=$(rates 0)
                        [ "$n" = 0 ] && ROOT0=$line
                        shown "$line" "$ROOT0"
                        if [ "$n" != 0 ]; then
                                line=$(rates "$mid" "$addr")
                                [ "$n" = 10 ] && SLICE10=$line
                                printf ' '
                                shown "$line" "$SLICE10"
                        fi
                        echo
                } >>"$T/routing.txt"
        fi
        t0=$(uoat_now_ms)
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null
        stop=$(($(uoat_now_ms) - t0))
        ip -n "$H" addr del "$addr/32" dev veth0
        printf '%-7s %-13s %7s %7s %6s %6s %6s %7s\n' "$n" "${how:-addresses}${v4:+, IPv4}" "$up" "$rss" "$add" \
                "$addt" "$show" "$stop"
}

N_CRR=3000 N_ROUTE=200000
rate 0 udp-rr 2000 >/dev/null # warm: neighbours resolved, caches filled
NO_UOAD=$(rates 0)
: >"$T/routing.txt"
{
        echo "uoa scale: $(uname -r), $(nproc) CPUs; one run; uoad --engine bpf"
        echo "up: until uoad serves, everything applied; add: a one-line uoamap add (an address; then a table);"
        echo "stop: SIGTERM until uoad has removed everything"
        printf '%-7s %-13s %7s %7s %6s %6s %6s %7s\n' slices policy "up ms" "RSS kB" "add ms" "+table" "show" "stop ms"
        size 0 tables
        size 10 tables
        size 100 tables
        size 1000 tables
        size 10000 tables v4
        size 10000 tables
        size 1000
        size 10000
        size 100000
        echo
        echo "routing and the guard, per second (medians of 5): lookups (connect of a UDP socket), unconnected"
        echo "UDP request/response, TCP connect+request+close, to a routed peer; root: unbound, x to uoad with"
        echo "no slice (with no uoad at all: $NO_UOAD); slice: the middle slice, unwrapped, from its"
        echo "address, x to the same with 10 slices"
        printf '%-7s %-13s %9s %4s %7s %4s %6s %4s %9s %4s %7s %4s %6s %4s\n' slices policy "root lkp" x udp x crr x \
                "slice lkp" x udp x crr x
        cat "$T/routing.txt"
} | tee "$OUT"
