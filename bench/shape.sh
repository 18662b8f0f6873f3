#!/usr/bin/env bash
# bench/shape.sh BUILD_DIR: what per-slice shaping costs and how well it holds
# its rates (`make bench` runs it after bench/run.sh; `make bench-shape`
# alone). iperf3 TCP streams in lib.sh's world (H with uoad, P the peer):
#   accuracy   a slice alone at egress 40mbit, two slices together (40 and
#              80mbit), a slice receiving at ingress 30mbit; each as % of rate
#   unshaped   root and a user without a slice, sending and receiving, with
#              no qdisc (no uoad) and with uoad shaping 1 000 other slices
#              (egress and ingress, so 1 000 classes and u32 nodes): ratio of
#              the medians of BENCH_R runs, interleaved
#   setup      uoad's start to its socket with the 1 000 rates, minus the
#              same policy without them; SIGTERM's removal of it all
# Output on stdout and in BUILD_DIR/bench/shape.txt.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tests/integration/lib.sh
. "$HERE/../tests/integration/lib.sh"

R=${BENCH_R:-5}
SECS=${BENCH_SECS_SHAPE:-3}
N=${BENCH_SHAPED:-1000}
H=uoabs-h-$UOAT_ID
P=uoabs-p-$UOAT_ID
UOAT_TIMEOUT=$((SECS + 10))

die() { uoat_warn "$*"; exit 1; }

uoat_traps
uoat_need iperf3 tc || exit 1
uoat_tmp_setup "${1:-build}" && uoat_bpffs_setup && uoat_net_setup && uoat_users_setup || die "world"
uoat_bins_install >/dev/null 2>&1
OUT_FILE=$BUILD/bench/shape.txt
mkdir -p "$BUILD/bench" || die "no $BUILD/bench"
for port in 5301 5302 5303; do uoat_spawn "$P" "$T/iperf-$port.log" iperf3 -s -p "$port"; done
sleep 0.3

# The world's slices with rates, plus N numeric slices each with an address
# of 10.90/16, an egress and an ingress rate (uids that are nobody's).
policy() { # with_rates(0|1)
        uoat_policy_text
        printf '%s egress 40mbit\n%s egress 80mbit\n%s ingress 30mbit\n' "$UA" "$UB" "$UA"
        awk -v n="$N" -v rates="$1" 'BEGIN {
                for (i = 0; i < n; i++) {
                        u = 300000 + i
                        printf "%d address 10.90.%d.%d\n", u, int(i / 250), i % 250 + 1
                        if (rates) printf "%d egress %dmbit\n%d ingress %dmbit\n", u, 10 + i % 90, u, 10 + i % 90
                }
        }'
}
policy 1 >"$T/shaped.conf"
policy 0 >"$T/plain.conf"

mbit() { awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") r = $i } END { printf "%d\n", r }' "$1"; }
# stream WHO PORT [-R] [SRC]: one stream's receiver rate (Mbit/s) on stdout;
# WHO is root or a user (not under uoa-run: shaping is by socket owner).
stream() {
        local who=$1 out args=(iperf3 -c 10.77.0.2 -p "$2" -t "$SECS" -O 1 -f m ${3:+"$3"})
        out=$(mktemp "$T/stream.XXXXXX")
        case $who in
        root) timeout -k 2 "$UOAT_TIMEOUT" ip netns exec "$H" "${args[@]}" ;;
        *) timeout -k 2 "$UOAT_TIMEOUT" ip netns exec "$H" setpriv --reuid="$who" --regid="$who" --clear-groups \
                   "${args[@]}" -B "$4" ;;
        esac >"$out" 2>&1 </dev/null
        mbit "$out"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Not in a subshell: they keep uoad's pid. UP_MS, DOWN_MS: how long they took.
uoad_up() { # CONF: start uoad (ready: its socket)
        local t0
        t0=$(uoat_now_ms)
        uoat_uoad_start "$1" >/dev/null 2>&1 || die "uoad did not start with $1"
        UP_MS=$(($(uoat_now_ms) - t0))
}
uoad_down() { # SIGTERM and its clean-up
        local t0
        t0=$(uoat_now_ms)
        kill -TERM "$UOAT_UOAD_PID"
        wait "$UOAT_UOAD_PID" 2>/dev/null
        DOWN_MS=$(($(uoat_now_ms) - t0))
}

# ---- setup time -----------------------------------------------------------------
plain_ms=() shaped_ms=() down_ms=()
for i in $(seq 3); do
        uoad_up "$T/plain.conf"
        plain_ms+=("$UP_MS")
        uoad_down
        uoad_up "$T/shaped.conf"
        shaped_ms+=("$UP_MS")
        uoad_down
        down_ms+=("$DOWN_MS")
done
left=$(ip netns exec "$H" tc qdisc show | grep -v -e 'noqueue 0:' ; ip netns exec "$H" ip -br link show type ifb)

# ---- unshaped traffic: no qdisc vs 1 000 shaped slices -------------------------
# "plain": uoad serving the same slices without rates (the guard's cost
# alone), so the two ratios tell the shaping's own share.
declare -A S
for i in $(seq "$R"); do
        for mode in none plain shaped; do
                [ $mode = none ] || uoad_up "$T/$mode.conf"
                S[$mode.root.tx]+="$(stream root 5303) "
                S[$mode.root.rx]+="$(stream root 5303 -R) "
                S[$mode.user.tx]+="$(stream "$UN" 5303 "" 10.77.0.1) "
                [ $mode = none ] || uoad_down
        done
done

# ---- accuracy --------------------------------------------------------------------
uoad_up "$T/shaped.conf"
alone=$(stream "$UA" 5301 "" 10.77.0.11)
stream "$UA" 5301 "" 10.77.0.11 >"$T/a" &
pa=$!
stream "$UB" 5302 "" 10.77.0.12 >"$T/b" &
pb=$!
wait $pa $pb
both_a=$(cat "$T/a") both_b=$(cat "$T/b")
rx=$(stream "$UA" 5301 -R 10.77.0.11)
uoad_down

# ---- report ----------------------------------------------------------------------
med() { tr ' ' '\n' <<<"${S[$1]}" | grep . | median; }
ratio() { echo "scale=2; $(med "${2:-shaped}.$1") / $(med "none.$1")" | bc; }
pct() { echo "$(( $1 * 100 / $2 ))%"; }
{
        echo "uoa shaping bench: $N shaped slices (egress and ingress) besides the world's; iperf3 TCP, ${SECS}s streams, $R runs interleaved"
        echo
        echo "| accuracy (rate) | got | of rate |"
        echo "| --- | --- | --- |"
        echo "| a slice alone, egress 40mbit | $alone Mbit/s | $(pct "$alone" 40) |"
        echo "| two slices together, 40mbit and 80mbit | $both_a and $both_b Mbit/s | $(pct "$both_a" 40), $(pct "$both_b" 80) |"
        echo "| a slice receiving, ingress 30mbit | $rx Mbit/s | $(pct "$rx" 30) |"
        echo
        echo "| unshaped stream (median Mbit/s) | no uoad, no qdisc | uoad, $N slices, no rates | ratio | uoad, $N shaped slices | ratio |"
        echo "| --- | --- | --- | --- | --- | --- |"
        for t in "root sending:root.tx" "root receiving:root.rx" "a user without a slice sending:user.tx"; do
                k=${t#*:}
                echo "| ${t%%:*} | $(med none.$k) | $(med plain.$k) | $(ratio $k plain) | $(med shaped.$k) | $(ratio $k) |"
        done
        echo
        echo "setup: uoad start to socket, median of 3: $(printf '%s\n' "${plain_ms[@]}" | median) ms without rates," \
             "$(printf '%s\n' "${shaped_ms[@]}" | median) ms with $N shaped slices;" \
             "SIGTERM with them: $(printf '%s\n' "${down_ms[@]}" | median) ms"
        echo "left on the interfaces after SIGTERM: ${left:-nothing}"
        echo
        for t in root.tx root.rx user.tx; do
                r=$(ratio $t)
                if [ "$(echo "$r >= 0.95" | bc)" = 1 ]; then v=met; else v="NOT met"; fi
                echo "target: unshaped $t >= 0.95x of no qdisc with $N shaped slices: $r ($v)"
        done
} | tee "$OUT_FILE"
