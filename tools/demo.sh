#!/bin/bash
# tools/demo.sh BUILD_DIR: a short scripted demonstration of uoa in throw-away
# network namespaces: two dedicated slices (A, B) and two slices sharing one
# address by port ranges (S1, S2). Shows each command as its user would type
# it, then its output. Everything is removed afterwards, also on Ctrl-C.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

if [ $# -ne 1 ]; then
        echo "usage: $0 BUILD_DIR   (as root; make demo does this)" >&2
        exit 2
fi

DEMO_OK=1
HOLD_PID=""

say() { printf '# %s\n' "$*"; }
section() { printf '\n'; say "$@"; }

# The output of the last run, and whether it is what the demo promises.
show_result() { # PATTERN
        [ -n "$OUT" ] && printf '%s\n' "$OUT"
        [ "$RC" != 0 ] && [ -z "$OUT" ] && [ -n "$ERR" ] && printf '%s\n' "$ERR"
        if ! uoat_match "$1" "$OUT"; then
                printf '  !! expected %s\n' "$1"
                DEMO_OK=0
        fi
        return 0
}

# slice USER PATTERN PROBE-ARGS...: the user runs uoa-probe under uoa-run.
slice() {
        local user=$1 pat=$2
        shift 2
        printf '%s$ uoa-run -- uoa-probe %s\n' "$user" "$*"
        uoat_slice_run "$user" uoa-probe "$@"
        show_result "$pat"
}

# The same, left running in the background (--hold) until it has printed.
slice_bg() {
        local user=$1 pat=$2 i
        shift 2
        printf '%s$ uoa-run -- uoa-probe %s &\n' "$user" "$*"
        uoat_slice_argv "$user" uoa-probe "$@"
        timeout -k 2 10 "${UOAT_CMD[@]}" >"$T/bg.out" 2>"$T/bg.err" </dev/null &
        HOLD_PID=$!
        UOAT_PIDS+=("$HOLD_PID")
        for i in $(seq 50); do
                [ -s "$T/bg.out" ] && break
                uoat_pid_alive "$HOLD_PID" || break
                sleep 0.1
        done
        OUT=$(cat "$T/bg.out") ERR=$(cat "$T/bg.err") RC=0
        show_result "$pat"
}

main() {
        uoat_traps
        echo "uoa demo: building a world of two network namespaces, five users..."
        if ! uoat_world_setup "$1"; then
                echo "demo: could not build the world (is $1 built? make all build/tests/...)" >&2
                exit 1
        fi
        # Commands below are exactly what runs: uoa-run finds uoad through
        # UOA_SOCKET (the default is /run/uoa/uoad.sock) and uoa-probe on PATH.
        export UOA_SOCKET=$SOCK PATH=$T/bin:$PATH
        UOAT_SOCKET_ARG=0 UOAT_WAY=user UOAT_VARIANT=preload

        section "Host namespace $H has 10.77.0.1 (its own) and 10.77.0.11, .12, .20"
        say "(plus fd77::1, ::11, ::12, ::20); the peer namespace $P is 10.77.0.2 /"
        say "fd77::2 and runs uoa-echo on port 7, which answers with the source it sees."
        say "The policy uoad serves ($T/uoa.conf):"
        grep -v '^#' "$T/uoa.conf"
        section "uoad is running; what it serves:"
        echo "root# uoamap show"
        ip netns exec "$H" "$T/bin/uoamap" show

        section "Dedicated addresses: A and B both bind 0.0.0.0:80 at the same time,"
        say "each gets its own address (A=$UA, B=$UB)."
        slice_bg "$UA" "ok 10.77.0.11 80" bind 4 tcp 0.0.0.0 80 --hold 3
        slice "$UB" "ok 10.77.0.12 80" bind 4 tcp 0.0.0.0 80
        kill -TERM "$HOLD_PID" 2>/dev/null
        wait "$HOLD_PID" 2>/dev/null

        section "A slice cannot bind another slice's address, nor the host's:"
        slice "$UA" "err EADDRNOTAVAIL" bind 4 tcp 10.77.0.12 80
        slice "$UA" "err EADDRNOTAVAIL" bind 6 tcp fd77::1 80

        section "The peer sees each slice's own source address:"
        slice "$UA" "ok local=* seen=10.77.0.11:{1-65535}" tcp 10.77.0.2 7
        slice "$UB" "ok local=* seen=10.77.0.12:{1-65535}" tcp 10.77.0.2 7
        slice "$UA" "ok local=* seen=[fd77::11]:{1-65535}" udp-sendto fd77::2 7

        section "Shared address 10.77.0.20: S1 owns ports 10000-10999, S2 11000-11999"
        say "(S1=$US1, S2=$US2). Port 22 maps into each range:"
        slice "$US1" "ok 10.77.0.20 10022" bind 4 tcp 0.0.0.0 22
        slice "$US2" "ok 10.77.0.20 11022" bind 4 tcp 0.0.0.0 22
        section "A port in the other slice's range is refused:"
        slice "$US1" "err EACCES" bind 4 tcp 0.0.0.0 11500
        section "Outgoing connections leave from the slice's own port range:"
        slice "$US1" "ok local=* seen=10.77.0.20:{10000-10999}" tcp 10.77.0.2 7
        slice "$US2" "ok local=* seen=10.77.0.20:{11000-11999}" udp-sendto 10.77.0.2 7

        section "Root, not under uoa-run, is unchanged:"
        echo "root# uoa-probe bind 4 tcp 10.77.0.12 80"
        uoat_host "$T/bin/uoa-probe" bind 4 tcp 10.77.0.12 80
        show_result "ok 10.77.0.12 80"

        echo
        if [ "$DEMO_OK" = 1 ]; then
                echo "demo: every step behaved as shown; removing the world."
                exit 0
        fi
        echo "demo: some steps did not behave as expected (marked !!); removing the world."
        exit 1
}

main "$@"
