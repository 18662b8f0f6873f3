#!/usr/bin/env bash
# bench/run.sh BUILD_DIR: the benchmark suite (`make bench`). Builds its own
# world in network namespaces, measures every test for every variant in the
# same run, R times each (interleaved), and prints one table: median, min,
# max, and the ratio of the median to native's median (rates: higher is
# better, so a ratio below 1 means slower than native).
#
# World (all created here, all removed by the traps of tests/integration/lib.sh):
#   H  host namespace: uoad, the slice users (dedicated 10.77.0.11; shared
#      10.77.0.1 = H's own address, ports 20000-39999), a plain user (no
#      slice) for the native and container runs; routes for C
#   P  peer namespace over veth (10.77.0.2): the rr servers
#   C  "container" namespace over its own veth pair to H (10.78.0.2, default
#      route via H): the netns+veth path, unsupervised
#   S  scratch namespace: uoad with generated policies of N slices (memory)
# Variants: native (plain user in H), uoa-run, uoa-run --no-preload, static
# (a static binary under uoa-run), shared (uoa-run, the shared-address
# slice), container (plain user in C, routed via H) with uoad --engine
# seccomp; then bpf, bpf-static, bpf-shared (the same under --engine bpf:
# the kernel decides, fewer calls trap) and unwrapped (the dedicated slice's
# uid without uoa-run, held by the kernel engine alone). Each run restarts
# uoad between the two engines; native is measured in both halves.
# Tests: roundtrip (capset, answered by uoad at once: the bare notification
# round trip), bind (socket+bind+close), tcp-crr, udp-rr (sendto(dest)),
# tcp-rr, tcp-stream, udp-stream (sendto(dest)); then notification
# throughput, decision cost and uoad memory; last, the issue's targets.
#
# Output: the table on stdout, also in BUILD_DIR/bench/results.txt; raw
# samples in BUILD_DIR/bench/raw.txt; with gnuplot, BUILD_DIR/bench/ratios.png.
# Knobs (environment): BENCH_R (runs per cell, default 5), BENCH_SECS
# (stream seconds, default 1).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tests/integration/lib.sh
. "$HERE/../tests/integration/lib.sh"

R=${BENCH_R:-5}
SECS=${BENCH_SECS:-1}
N_RT=5000 N_BIND=2000 N_CRR=2000 N_UDPRR=5000 N_TCPRR=5000
UDP_PORT=5001 TCP_PORT=5002
C=uoab-c-$UOAT_ID
S=uoab-s-$UOAT_ID
H=uoab-h-$UOAT_ID
P=uoab-p-$UOAT_ID
UA=uoab${UOAT_ID}a            # the dedicated-address slice
US=uoab${UOAT_ID}s            # the shared-address slice
UN=uoab${UOAT_ID}n            # no slice: native and container runs
VARIANTS_SECCOMP=(native uoa-run no-preload static shared container)
VARIANTS_BPF=(native bpf bpf-static bpf-shared unwrapped)
VARIANTS=(native uoa-run no-preload static shared container bpf bpf-static bpf-shared unwrapped)

die() { uoat_warn "$*"; exit 1; }

uoat_traps
uoat_need nft bc || exit 1
uoat_tmp_setup "${1:-build}" || exit 1
OUTDIR=$BUILD/bench
RAW=$OUTDIR/raw.txt
RES=$OUTDIR/results.txt
mkdir -p "$OUTDIR" && : >"$RAW" || exit 1
T_START=$(uoat_now_ms)

# ---- world -----------------------------------------------------------------------
uoat_netns_add "$H" && uoat_netns_add "$P" && uoat_netns_add "$C" || die "netns"
ip -n "$H" link add veth0 type veth peer name veth0 netns "$P" || die "veth H-P"
ip -n "$H" link add vc0 type veth peer name vc0 netns "$C" || die "veth H-C"
ip -n "$H" addr add 10.77.0.1/24 dev veth0 && ip -n "$H" addr add 10.77.0.11/24 dev veth0 &&
        ip -n "$P" addr add 10.77.0.2/24 dev veth0 &&
        ip -n "$H" addr add 10.78.0.1/24 dev vc0 && ip -n "$C" addr add 10.78.0.2/24 dev vc0 || die "addresses"
for l in "$H veth0" "$P veth0" "$H vc0" "$C vc0"; do
        set -- $l
        ip -n "$1" link set "$2" up || die "link $l"
done
ip -n "$C" route add default via 10.78.0.1 && ip -n "$P" route add 10.78.0.0/24 via 10.77.0.1 || die "routes"
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1 || die "forwarding"
for u in "$UA" "$US" "$UN"; do
        id -u "$u" >/dev/null 2>&1 && die "user $u exists already"
        UOAT_USERS+=("$u")
        useradd -M -s /usr/sbin/nologin "$u" || die "useradd $u"
done
printf '# uoa bench world %s\n%s address 10.77.0.11\n%s address 10.77.0.1 ports 20000-39999\n' \
        "$UOAT_ID" "$UA" "$US" >"$T/uoa.conf"
for f in uoa-run libuoa-preload.so bench/rr bench/rr-static bench/sockcalls bench/sockcalls-static; do
        [ -e "$BUILD/$f" ] || die "missing $BUILD/$f (make bench builds it)"
        cp "$BUILD/$f" "$T/bin/" && chmod 755 "$T/bin/${f##*/}"
done
chown root:root "$T/bin/uoa-run" && chmod 4755 "$T/bin/uoa-run"
[ -x "$BUILD/bench/decide" ] || die "missing $BUILD/bench/decide"
uoat_bpffs_setup || die "no bpf file system for the kernel engine"
# bench_engine ENGINE: (re)start uoad with that engine.
bench_engine() {
        if [ -n "${UOAT_UOAD_PID:-}" ] && uoat_uoad_alive; then
                kill -TERM "$UOAT_UOAD_PID"
                wait "$UOAT_UOAD_PID" 2>/dev/null
        fi
        UOA_ENGINE=$1
        uoat_uoad_start || die "uoad --engine $1 did not start"
        [ "$UOAT_ENGINE_ACTIVE" = "$1" ] || die "uoad runs the $UOAT_ENGINE_ACTIVE engine, not $1"
}
bench_engine seccomp
for proto in udp tcp; do
        port=$UDP_PORT
        [ $proto = tcp ] && port=$TCP_PORT
        uoat_spawn "$P" "$T/$proto-server.log" "$T/bin/rr" $proto-server $port
done
for i in $(seq 50); do
        grep -q ready "$T/udp-server.log" && grep -q ready "$T/tcp-server.log" && break
        sleep 0.1
done
grep -q ready "$T/tcp-server.log" || die "rr servers did not start"

UOAT_WAY=user
# vargv VARIANT PROG ARGS...: set CMD to run PROG (rr or sockcalls) as VARIANT.
vargv() {
        local v=$1 prog=$2
        shift 2
        case $v in
        native) CMD=(ip netns exec "$H" setpriv --reuid="$UN" --regid="$UN" --clear-groups "$T/bin/$prog" "$@") ;;
        container) CMD=(ip netns exec "$C" setpriv --reuid="$UN" --regid="$UN" --clear-groups "$T/bin/$prog" "$@") ;;
        unwrapped) CMD=(ip netns exec "$H" setpriv --reuid="$UA" --regid="$UA" --clear-groups "$T/bin/$prog" "$@") ;;
        static | bpf-static)
                UOAT_VARIANT=preload
                uoat_slice_argv "$UA" "$T/bin/$prog-static" "$@"
                CMD=("${UOAT_CMD[@]}")
                ;;
        uoa-run | no-preload | bpf)
                UOAT_VARIANT=preload
                [ "$v" = no-preload ] && UOAT_VARIANT=nopreload
                uoat_slice_argv "$UA" "$T/bin/$prog" "$@"
                CMD=("${UOAT_CMD[@]}")
                ;;
        shared | bpf-shared)
                UOAT_VARIANT=preload
                uoat_slice_argv "$US" "$T/bin/$prog" "$@"
                CMD=("${UOAT_CMD[@]}")
                ;;
        esac
}

# sample TEST VARIANT UNIT CMD...: run once, append "TEST VARIANT VALUE UNIT" to RAW.
FAILS=0
sample() {
        local test=$1 v=$2 unit=$3 out val
        shift 3
        out=$(timeout -k 2 60 "$@" 2>"$T/err")
        case $test in
        bind | roundtrip) val=$(awk '/median/ { printf "%.1f", 1e6 / $3 }' <<<"$out") ;; # sockcalls: us per op
        *) val=$(awk 'NF == 3 { print $2 }' <<<"$out") ;;
        esac
        if [ -z "$val" ] || [ "$val" = 0.0 ]; then
                FAILS=$((FAILS + 1))
                uoat_warn "$test/$v failed: ${out:-no output} $(head -c 300 "$T/err")"
                return
        fi
        echo "$test $v $val $unit" >>"$RAW"
}

# ---- 1. per-operation tests, every variant ------------------------------------------
echo "bench: $R runs of each test x ${#VARIANTS[@]} variants (streams ${SECS} s) ..."
for r in $(seq "$R"); do
        for v in "${VARIANTS_SECCOMP[@]}" restart "${VARIANTS_BPF[@]}"; do
                if [ "$v" = restart ]; then
                        bench_engine bpf
                        continue
                fi
                addr=10.77.0.11
                [ "$v" = container ] && addr=10.78.0.2
                [ "$v" = native ] || [ "$v" = container ] || addr=0.0.0.0
                vargv "$v" sockcalls roundtrip 0.0.0.0 "$N_RT" 1 && sample roundtrip "$v" calls/s "${CMD[@]}"
                vargv "$v" sockcalls bind "$addr" "$N_BIND" 1 && sample bind "$v" binds/s "${CMD[@]}"
                vargv "$v" rr tcp-crr 10.77.0.2 $TCP_PORT $N_CRR && sample tcp-crr "$v" trans/s "${CMD[@]}"
                vargv "$v" rr udp-rr 10.77.0.2 $UDP_PORT $N_UDPRR && sample udp-rr "$v" trans/s "${CMD[@]}"
                vargv "$v" rr tcp-rr 10.77.0.2 $TCP_PORT $N_TCPRR && sample tcp-rr "$v" trans/s "${CMD[@]}"
                vargv "$v" rr tcp-stream 10.77.0.2 $TCP_PORT "$SECS" && sample tcp-stream "$v" Mbit/s "${CMD[@]}"
                vargv "$v" rr udp-stream 10.77.0.2 $UDP_PORT "$SECS" && sample udp-stream "$v" Mbit/s "${CMD[@]}"
        done
        bench_engine seccomp
        echo "  run $r/$R done ($(( ($(uoat_now_ms) - T_START) / 1000 )) s)"
done

# ---- 2. notification throughput: K concurrent binders -----------------------------
# Total binds per second over the wall time of the batch, launch included:
# K processes x NB binds, NB = 32000/K.
conc() {
        local v=$1 k=$2 nb=$((32000 / $2)) i t0 t1 pids=()
        t0=$(uoat_now_ms)
        for i in $(seq "$k"); do
                if [ "$v" = native ]; then
                        vargv native sockcalls bind 10.77.0.11 "$nb" 1
                else
                        vargv uoa-run sockcalls bind 0.0.0.0 "$nb" 1
                fi
                timeout -k 2 60 "${CMD[@]}" >"$T/conc.$i" 2>&1 &
                pids+=($!)
        done
        local bad=0
        for i in "${pids[@]}"; do wait "$i" || bad=1; done
        t1=$(uoat_now_ms)
        if [ $bad = 1 ] || [ "$(cat "$T"/conc.* | grep -c median)" != "$k" ]; then
                FAILS=$((FAILS + 1))
                uoat_warn "concurrent bind x$k/$v failed: $(cat "$T"/conc.* | grep -v median | head -n 3)"
        else
                echo "conc-bind-x$k $v $(echo "scale=1; $k * $nb * 1000 / ($t1 - $t0)" | bc) binds/s" >>"$RAW"
        fi
        rm -f "$T"/conc.*
}
echo "bench: notification throughput (1, 8, 64 concurrent binders) ..."
for r in $(seq 3); do
        for k in 1 8 64; do
                conc native $k
                conc uoa-run $k
        done
done

# ---- 3. decision cost and uoad memory against the number of slices ------------------
echo "bench: decision cost and uoad memory (1, 100, 10000, 100000 slices) ..."
DECIDE=$("$BUILD/bench/decide" time 1 10 100 10000 100000) || die "decide failed"
uoat_netns_add "$S" || die "netns $S"
MEM=()
# The kernel engine's maps of the uoad whose log is $1: kB the kernel
# accounts for them (bpftool's memlock: what the elements use, 6.4+).
kmaps_kb() {
        local dir prog
        dir=$(sed -n 's/.*pinned at \([^)]*\)).*/\1/p' "$1" | head -n 1)
        prog=$(bpftool -j link show pinned "$dir/bind4" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])' 2>/dev/null) || { echo -; return; }
        bpftool -j prog show id "$prog" | python3 -c '
import json, subprocess, sys
ids = json.load(sys.stdin).get("map_ids", [])
kb = sum(json.loads(subprocess.check_output(["bpftool", "-j", "map", "show", "id", str(i)])).get("bytes_memlock", 0) for i in ids)
print(kb // 1024)' 2>/dev/null || echo -
}
# The in-kernel decision's cost against the number of slices: binds of
# 127.0.0.1 by a slice uid (netns check and slice lookup, then loopback is
# the kernel's) over binds by a uid without a slice, in the namespace of the
# uoad with N slices. Median of 5 rounds of 2000.
kbind() {
        local s n
        s=$(ip netns exec "$S" setpriv --reuid="$1" --regid="$1" --clear-groups "$T/bin/sockcalls" bind 127.0.0.1 2000 5 |
                awk '/median/ { print $3 }')
        n=$(ip netns exec "$S" setpriv --reuid=65534 --regid=65534 --clear-groups "$T/bin/sockcalls" bind 127.0.0.1 2000 5 |
                awk '/median/ { print $3 }')
        awk -v s="$s" -v n="$n" 'BEGIN { if (s > 0 && n > 0) printf "%.2f", n / s; else print "-" }'
}
for n in 1 100 10000 100000; do
        conf=$T/slices-$n.conf sock=$T/uoad-$n.sock
        "$BUILD/bench/decide" gen $n >"$conf" || die "decide gen"
        t0=$(uoat_now_ms)
        uoat_spawn "$S" "$T/uoad-$n.log" "$BUILD/uoad" --engine bpf --config "$conf" --socket "$sock"
        pid=$UOAT_LAST_PID
        for i in $(seq 600); do
                [ -S "$sock" ] && break
                uoat_pid_alive "$pid" || break
                sleep 0.05
        done
        [ -S "$sock" ] || die "uoad with $n slices did not come up: $(tail -n 3 "$T/uoad-$n.log")"
        up=$(($(uoat_now_ms) - t0))
        uoat_pins_record "$T/uoad-$n.log"
        sleep 0.2
        rss=$(awk '/VmRSS/ { print $2 }' /proc/"$pid"/status)
        MEM+=("$n $rss $up $(kmaps_kb "$T/uoad-$n.log") $(kbind "$(awk 'NR == 1 { print $1 }' "$conf")")")
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null
done

# ---- report ------------------------------------------------------------------------
med() { # TEST VARIANT: the median sample
        awk -v t="$1" -v v="$2" '$1 == t && $2 == v { print $3 }' "$RAW" | sort -g |
                awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'
}
ratio() { # TEST VARIANT: its median / native's median
        awk -v a="$(med "$1" "$2")" -v b="$(med "$1" native)" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b }'
}
{
        echo "uoa bench: $(uname -r), $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
        echo "$R runs per cell (notification throughput: 3); ratio = median / native median (rates: < 1 is slower)"
        echo
        printf '%-16s %-11s %12s %12s %12s %-8s %6s\n' test variant median min max unit ratio
        echo "(uoa-run, no-preload, static, shared: --engine seccomp; bpf, bpf-*, unwrapped: --engine bpf)"
        for test in roundtrip bind tcp-crr udp-rr tcp-rr tcp-stream udp-stream conc-bind-x1 conc-bind-x8 conc-bind-x64; do
                base=""
                for v in "${VARIANTS[@]}"; do
                        vals=$(awk -v t="$test" -v v="$v" '$1 == t && $2 == v { print $3 }' "$RAW" | sort -g)
                        [ -n "$vals" ] || continue
                        unit=$(awk -v t="$test" '$1 == t { print $4; exit }' "$RAW")
                        n=$(wc -l <<<"$vals")
                        med=$(sed -n "$(((n + 1) / 2))p" <<<"$vals")
                        [ "$v" = native ] && base=$med
                        ratio=-
                        [ -n "$base" ] && ratio=$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
                        printf '%-16s %-11s %12s %12s %12s %-8s %6s\n' "$test" "$v" "$med" \
                                "$(head -n 1 <<<"$vals")" "$(tail -n 1 <<<"$vals")" "$unit" "$ratio"
                done
        done
        echo
        echo "per decision (policy_slice_find + policy_bind_decide + policy_source_select, in-process,"
        echo "median of 101 batches of 1000 requests; 'all': from uids drawn among all the slices,"
        echo "'100 active': from the same 100 of them) and uoad --engine bpf (no tables: the nftables guard"
        echo "and the kernel engine's maps filled before the socket appears):"
        echo "(kmaps kB: the kernel engine's maps; kbind: a slice's bind of 127.0.0.1 through the programs"
        echo "over a non-slice uid's, same namespace: 1.00 = the decision costs nothing measurable)"
        printf '%-8s %9s %9s %9s %11s %9s %12s %11s %9s %6s\n' slices "ns (all)" min max "ns (100 act)" "parse ms" \
                "uoad RSS kB" "uoad up ms" "kmaps kB" kbind
        while read -r _ n all lo hi parse hot; do
                local_mem="- - - -"
                for m in "${MEM[@]}"; do
                        set -- $m
                        [ "$1" = "$n" ] && local_mem="$2 $3 $4 $5"
                done
                set -- $local_mem
                printf '%-8s %9s %9s %9s %11s %9s %12s %11s %9s %6s\n' "$n" "$all" "$lo" "$hi" "$hot" "$parse" "$1" "$2" "$3" "$4"
        done <<<"$DECIDE"
        echo
        echo "targets (issue 6), from the medians above:"
        target() { # NAME VALUE LIMIT (value must be >= limit)
                printf '  %-58s %8s  (>= %s)  %s\n' "$1" "$2" "$3" \
                        "$(awk -v a="$2" -v b="$3" 'BEGIN { print (a != "" && a >= b) ? "met" : "NOT met" }')"
        }
        target "tcp-rr, uoa-run / native (data path)" "$(ratio tcp-rr uoa-run)" 0.99
        target "tcp-stream, uoa-run / native (data path)" "$(ratio tcp-stream uoa-run)" 0.99
        target "udp-rr with sendto(dest), uoa-run / native" "$(ratio udp-rr uoa-run)" 0.9
        target "tcp-crr, dedicated address, uoa-run / native" "$(ratio tcp-crr uoa-run)" 0.95
        target "tcp-crr, shared address / native" "$(ratio tcp-crr shared)" 0.7
        bind_over=$(awk -v s="$(med bind uoa-run)" -v n="$(med bind native)" 'BEGIN { printf "%.1f", 1e6 / s - 1e6 / n }')
        rt=$(awk -v s="$(med roundtrip uoa-run)" 'BEGIN { printf "%.1f", 1e6 / s }')
        printf '  %-58s %8s  (<= %s + 2)  %s\n' "bind: us over native (<= one round trip + 2 us)" "$bind_over" "$rt" \
                "$(awk -v a="$bind_over" -v b="$rt" 'BEGIN { print (a <= b + 2) ? "met" : "NOT met" }')"
        d10=$(awk '$2 == 10 { print $3 }' <<<"$DECIDE")
        dhot=$(awk '$2 == 100000 { print $7 }' <<<"$DECIDE")
        dall=$(awk '$2 == 100000 { print $3 }' <<<"$DECIDE")
        printf '  %-58s %8s  (<= 1.1 x %s)  %s\n' "decision at 100000 slices, 100 active: ns" "$dhot" "$d10" \
                "$(awk -v a="$dhot" -v b="$d10" 'BEGIN { print (a <= 1.1 * b) ? "met" : "NOT met" }')"
        printf '  %-58s %8s  (<= 1.1 x %s)  %s\n' "decision at 100000 slices, all active: ns" "$dall" "$d10" \
                "$(awk -v a="$dall" -v b="$d10" 'BEGIN { print (a <= 1.1 * b) ? "met" : "NOT met" }')"
        echo "targets (issue 11, the kernel engine), from the medians above:"
        target "bind (socket+bind+close), bpf / native" "$(ratio bind bpf)" 0.9
        target "bind, unwrapped (kernel engine alone) / native" "$(ratio bind unwrapped)" 0.9
        target "tcp-crr, dedicated address, bpf / native" "$(ratio tcp-crr bpf)" 0.95
        target "tcp-crr, shared address, bpf-shared / native" "$(ratio tcp-crr bpf-shared)" 0.9
        target "udp-rr with sendto(dest), bpf / native" "$(ratio udp-rr bpf)" 0.95
        target "udp-stream with sendto(dest), bpf / native" "$(ratio udp-stream bpf)" 0.95
        target "tcp-rr (send on a connected socket), bpf / native" "$(ratio tcp-rr bpf)" 0.97
        echo "targets (issue 16, both cores serve notifications), from the medians above:"
        target "binds/s, 8 concurrent sessions / 1 session (uoa-run)" \
                "$(awk -v a="$(med conc-bind-x8 uoa-run)" -v b="$(med conc-bind-x1 uoa-run)" \
                        'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b }')" 1.6
} >"$RES"
cat "$RES"

if command -v gnuplot >/dev/null; then
        awk 'NF == 7 && $6 ~ /\/s$/ && $2 != "native" { print $1 "/" $2, $7 }' "$RES" >"$T/ratios.dat"
        gnuplot <<EOF 2>"$T/gnuplot.err" || uoat_warn "gnuplot failed: $(head -n 3 "$T/gnuplot.err")"
set terminal pngcairo size 1100,600 noenhanced
set output "$OUTDIR/ratios.png"
set title "uoa: rate relative to native (median of $R runs; 1.0 = native, higher is better)"
set style fill solid 0.7
set boxwidth 0.8
set yrange [0:*]
set grid ytics
set xtics rotate by -60
set rmargin 8
set key off
plot "$T/ratios.dat" using 0:2:xtic(1) with boxes, 1 with lines lt 0
EOF
        [ -s "$OUTDIR/ratios.png" ] && echo "plot: $OUTDIR/ratios.png"
fi
echo "results: $RES (raw samples: $RAW); $FAILS failed samples; $(( ($(uoat_now_ms) - T_START) / 1000 )) s"
[ "$FAILS" = 0 ]
