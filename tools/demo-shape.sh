#!/bin/bash
# tools/demo-shape.sh BUILD_DIR: bandwidth per slice (docs/design.md §3
# egress/ingress), shown with iperf3: two slices with different rates send
# over the same link at the same time, each at its rate, while root is not
# slowed; then one receives at its ingress rate, and a rate changes live.
# Builds lib.sh's world (two namespaces, a veth link, throw-away users) and
# removes it afterwards. `make demo` runs it after the VINI demonstration.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

if [ $# -ne 1 ]; then
        echo "usage: $0 BUILD_DIR   (as root; make demo does this)" >&2
        exit 2
fi

SECS=4
UOAT_TIMEOUT=$((SECS + 10))
DEMO_OK=1
if [ -t 1 ]; then HL=$'\e[1m' NL=$'\e[0m'; else HL="" NL=""; fi
step() { printf '\n%s== %s%s\n' "$HL" "$*" "$NL"; }

# iperf WHO PORT OUT [-R]: an iperf3 TCP stream to the peer, WHO a slice
# (under uoa-run) or root.
iperf() {
        local args=(iperf3 -c 10.77.0.2 -p "$2" -t "$SECS" -O 1 -f m ${4:+"$4"})
        if [ "$1" = root ]; then UOAT_CMD=(ip netns exec "$H" "${args[@]}"); else uoat_slice_argv "$1" "${args[@]}"; fi
        timeout -k 2 "$UOAT_TIMEOUT" "${UOAT_CMD[@]}" >"$3" 2>&1 </dev/null
}
# report WHO RATE GOT: one line; a rate outside 90-105% marks the demo failed.
report() {
        local verdict=ok
        if [ "$2" = - ]; then
                printf '  %-12s %-16s %6s Mbit/s\n' "$1" "(no rate)" "$3"
                return
        fi
        { [ "$3" -ge $(($2 * 90 / 100)) ] && [ "$3" -le $(($2 * 105 / 100)) ]; } || { verdict="!! outside 90-105%"; DEMO_OK=0; }
        printf '  %-12s %-16s %6s Mbit/s  (%d%% of its rate) %s\n' "$1" "rate ${2}mbit" "$3" $(($3 * 100 / $2)) "$verdict"
}
uoamap() { ip netns exec "$H" "$T/bin/uoamap" --socket "$SOCK" "$@"; }

uoat_traps
uoat_need iperf3 && uoat_tmp_setup "$1" && uoat_bpffs_setup && uoat_net_setup && uoat_users_setup || exit 1
{
        uoat_policy_text
        printf '%s egress 40mbit\n%s egress 80mbit\n%s ingress 30mbit\n' "$UA" "$UB" "$UA"
} >"$T/uoa.conf"
uoat_bins_install >/dev/null 2>&1
for port in 5301 5302 5303; do uoat_spawn "$P" "$T/iperf-$port.log" iperf3 -s -p "$port"; done
uoat_uoad_start || exit 1

step "the policy: slice $UA and slice $UB share the link veth0, with different rates"
grep -E "egress|ingress" "$T/uoa.conf" | sed 's/^/  /'
step "uoamap show (rates on the slices' lines)"
uoamap show | grep -E "^[0-9]+:" | sed 's/^/  /'

step "both slices send at once over veth0 (iperf3 under uoa-run), then root alone"
iperf "$UA" 5301 "$T/a.out" &
pa=$!
iperf "$UB" 5302 "$T/b.out" &
pb=$!
wait $pa $pb
report "$UA" 40 "$(uoat_iperf_mbit "$T/a.out")"
report "$UB" 80 "$(uoat_iperf_mbit "$T/b.out")"
iperf root 5303 "$T/r.out"
report root - "$(uoat_iperf_mbit "$T/r.out")"

step "$UA receives (iperf3 -R): its ingress rate, through the IFB"
iperf "$UA" 5301 "$T/a.out" -R
report "$UA" 30 "$(uoat_iperf_mbit "$T/a.out")"

step "a live change: uoamap del \"$UA egress 40mbit\"; uoamap add \"$UA egress 20mbit\""
uoamap del "$UA egress 40mbit" && uoamap add "$UA egress 20mbit" || DEMO_OK=0
iperf "$UA" 5301 "$T/a.out"
report "$UA" 20 "$(uoat_iperf_mbit "$T/a.out")"
step "what the kernel counted (uoamap show $UA)"
uoamap show "$UA" | sed 's/^/  /'

kill -TERM "$UOAT_UOAD_PID"
wait "$UOAT_UOAD_PID" 2>/dev/null
step "after uoad's SIGTERM: veth0's qdiscs, and IFB devices"
left=$(ip netns exec "$H" tc qdisc show dev veth0; ip netns exec "$H" ip -br link show type ifb)
printf '  %s\n' "$left"
grep -q -e htb -e ifb -e ingress <<<"$left" && DEMO_OK=0
if [ "$DEMO_OK" = 1 ]; then echo; echo "shaping demo: every rate held"; else echo; echo "shaping demo: something did not behave as shown (!! above)"; exit 1; fi
