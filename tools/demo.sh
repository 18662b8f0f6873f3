#!/bin/bash
# tools/demo.sh BUILD_DIR: the seed paper's VINI demonstration, scripted
# (docs/design.md §10). Three nodes A, B, C (network namespaces joined by veth
# links), one uoad per node with its own policy, and two slices on every node:
# u00 runs BIRD, u11 runs FRR, each peers with BGP across the nodes over its
# own addresses and installs what it learns into its own routing table. Shows
# each command as its user would type it, then its output; checks every step;
# removes everything afterwards, also on Ctrl-C. `make demo` runs it.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/vini.sh
. "$ROOT/tools/vini.sh"

if [ $# -ne 1 ]; then
        echo "usage: $0 BUILD_DIR   (as root; make demo does this)" >&2
        exit 2
fi

DEMO_OK=1
UOAT_TIMEOUT=10
if [ -t 1 ]; then HL=$'\e[1m' NL=$'\e[0m'; else HL="" NL=""; fi

step() { printf '\n%s== %s%s\n' "$HL" "$*" "$NL"; }
say() { printf '%s\n' "$@"; }

show_out() {
        [ -n "$OUT" ] && printf '%s\n' "$OUT"
        [ -n "$ERR" ] && grep -Ev 'vtysh\.conf|vtysh_pam' <<<"$ERR"
        return 0
}

# expect WHAT STATUS: a step that did not behave as shown is marked and counted.
expect() {
        [ "$2" = 0 ] && return 0
        printf '  !! expected: %s\n' "$1"
        DEMO_OK=0
}

has() { [[ $OUT == *"$1"* ]]; }

# shown ARG...: the command line as one would type it (quotes where needed).
shown() {
        local a out=""
        for a in "$@"; do
                if [[ $a =~ ^[][A-Za-z0-9_./:=,@+-]+$ ]]; then out+=" $a"; else out+=" '$a'"; fi
        done
        printf '%s' "${out# }"
}

# as_root NODE CMD...: root on NODE, not supervised.
as_root() {
        local x=$1
        shift
        printf '%sroot@%s#%s %s\n' "$HL" "$x" "$NL" "$(shown "$@")"
        uoat_capture ip netns exec "${VINI_NS[$x]}" env PATH="$T/bin:$PATH" "$@"
        show_out
}

# as_slice NODE SLICE CMD...: the slice's user on NODE types `uoa-run -- CMD`;
# this is exactly what runs (setuid uoa-run, the node's uoad in UOA_SOCKET).
as_slice() {
        local x=$1 s=$2
        shift 2
        printf '%s%s@%s$%s uoa-run -- %s\n' "$HL" "$s" "$x" "$NL" "$(shown "$@")"
        uoat_capture ip netns exec "${VINI_NS[$x]}" env UOA_SOCKET="$(vini_sock "$x")" PATH="$T/bin:$PATH" \
                setpriv --reuid="${VINI_USER[$s]}" --regid="${VINI_USER[$s]}" --init-groups \
                uoa-run -- "$@"
        show_out
}

intro() {
        say "uoa VINI demo: three nodes A, B, C in a line, two slices on every node,"
        say "each slice with its own addresses and its own routing table, running BGP:"
        say "u00 with BIRD 2, u11 with FRR (zebra + bgpd)."
        say ""
        say "       A  a-b --------- b-a  B  b-c --------- c-b  C"
        say "            10.12.0.0/24          10.23.0.0/24"
        say "  host    .1             .2        .2             .3"
        say "  u00     .10            .20       .20            .30"
        say "  u11     .11            .21       .21            .31"
        say ""
        say "Both slices announce the same prefixes, 10.200.N.0/24 from node N, and"
        say "their own addresses as /32s. B forwards; A and C reach each other through it."
}

build() {
        step "1. Building the world"
        if ! vini_setup "$1"; then
                echo "demo: could not build the world (is $1 built? make all build/tests/...)" >&2
                exit 1
        fi
        cd "$T" || exit 1
        say "namespaces ${VINI_NS[A]} ${VINI_NS[B]} ${VINI_NS[C]}; slice users u00 = ${VINI_USER[u00]},"
        say "u11 = ${VINI_USER[u11]} (in group frrvty, for FRR); one uoad per node. Files under $T"
        say "(the commands below run there). As root on every node X, the daemons were started:"
        say "  uoa-run --socket X/uoad.sock --user ${VINI_USER[u00]} -- bird -f -c X/u00/bird.conf -s X/u00/bird.ctl ..."
        say "  uoa-run --socket X/uoad.sock --user ${VINI_USER[u11]} -- zebra -u ${VINI_USER[u11]} -g frrvty -f X/u11/zebra.conf ..."
        say "  uoa-run --socket X/uoad.sock --user ${VINI_USER[u11]} -- bgpd  -u ${VINI_USER[u11]} -g frrvty -f X/u11/bgpd.conf ..."
}

policies() {
        local x s a
        step "2. Each node's policy (the seed paper's Table 2: per node, per slice)"
        for x in "${VINI_NODES[@]}"; do
                as_root "$x" uoamap --socket "$x/uoad.sock" show
                for s in "${VINI_SLICES[@]}"; do
                        for a in $(vini_addrs "$x" "$s"); do has "$a" || expect "$s has $a on $x" 1; done
                done
        done
        # Which engine decides the address rules (the kernel's where it can).
        as_root A uoamap --socket "A/uoad.sock" status
        expect "uoad on A names its engine" "$([[ $OUT == engine* ]]; echo $?)"
}

converge() {
        local x
        step "3. Waiting for BGP (at most ${VINI_WAIT} s)"
        if vini_wait_converged "$VINI_WAIT"; then
                printf 'all six slice tables complete after %d.%d s\n' \
                        $((VINI_CONVERGED_MS / 1000)) $((VINI_CONVERGED_MS % 1000 / 100))
                return 0
        fi
        echo "demo: BGP did not converge within ${VINI_WAIT} s; what the tables hold:" >&2
        for x in "${VINI_NODES[@]}"; do
                echo "-- $x: u00 (table ${VINI_TABLE[u00]})"; vini_table "$x" u00
                echo "-- $x: u11 (table ${VINI_TABLE[u11]})"; vini_table "$x" u11
                tail -n 5 "$T/$x/uoad.log"
        done >&2
        exit 1
}

sessions() {
        local x n want
        step "4. BGP sessions, as each slice sees them (on B, which peers with A and C)"
        as_slice B u00 birdc -s B/u00/bird.ctl show protocols
        expect "two BGP sessions Established" "$([ "$(grep -c 'BGP .*Established' <<<"$OUT")" = 2 ]; echo $?)"
        as_slice B u11 vtysh --vty_socket B/u11 -c "show bgp summary"
        expect "two neighbours with prefixes received" \
                "$([ "$(grep -cE '^10\.[0-9.]+ +4 +651[0-9]+ .* [0-9]+ +[0-9]+ N/A' <<<"$OUT")" = 2 ]; echo $?)"
        for x in A C; do
                want=$(vini_peers "$x" | wc -l)
                n=$(vini_bird_established "$x")
                printf 'node %s: u00 BIRD %s/%s Established, ' "$x" "$n" "$want"
                expect "BIRD on $x Established" "$([ "$n" = "$want" ]; echo $?)"
                n=$(vini_frr_established "$x")
                printf 'u11 bgpd %s/%s Established\n' "$n" "$want"
                expect "bgpd on $x Established" "$([ "$n" = "$want" ]; echo $?)"
        done
}

tables() {
        step "5. Same prefixes, two slices, two tables: root's view on A"
        as_root A ip route show table "${VINI_TABLE[u00]}"
        expect "10.200.3.0/24 via u00's 10.12.0.20" "$(has "10.200.3.0/24 via 10.12.0.20 "; echo $?)"
        as_root A ip route show table "${VINI_TABLE[u11]}"
        expect "10.200.3.0/24 via u11's 10.12.0.21" "$(has "10.200.3.0/24 via 10.12.0.21 "; echo $?)"
        say "" "The host's own main table is untouched:"
        as_root A ip route show table main
        expect "no slice route in main" "$(! has 10.200. && ! has bird && ! has bgp; echo $?)"

        step "6. Inside the slice, its table is main (the seed paper's Fig. 3)"
        as_slice A u00 ip route
        expect "u00's routes, nothing else" "$(has "10.23.0.30 via 10.12.0.20" && ! has bgp && ! has "proto kernel"; echo $?)"
        as_slice A u11 ip route
        expect "u11's routes, nothing else" "$(has "10.23.0.31 via 10.12.0.21" && ! has bird && ! has "proto kernel"; echo $?)"
}

traffic() {
        local pid i
        step "7. Traffic from A to C crosses B, routed by each slice's own table"
        as_slice A u00 ping -c 3 -i 0.2 -W 2 10.23.0.30
        expect "3 replies from 10.23.0.30" "$([ "$RC" = 0 ] && has "3 received"; echo $?)"
        as_slice A u11 ping -c 3 -i 0.2 -W 2 10.23.0.31
        expect "3 replies from 10.23.0.31" "$([ "$RC" = 0 ] && has "3 received"; echo $?)"
        say ""
        printf '%su00@C$%s uoa-run -- iperf3 -s -1 &     (the wildcard address is u00'"'"'s 10.23.0.30)\n' "$HL" "$NL"
        ip netns exec "${VINI_NS[C]}" env UOA_SOCKET="$(vini_sock C)" PATH="$T/bin:$PATH" \
                setpriv --reuid="${VINI_USER[u00]}" --regid="${VINI_USER[u00]}" --init-groups \
                timeout -k 2 15 uoa-run -- iperf3 -s -1 >"$T/iperf-s.log" 2>&1 </dev/null &
        pid=$!
        VINI_PIDS+=("$pid")
        for i in $(seq 50); do
                ip netns exec "${VINI_NS[C]}" ss -Hltn 'sport = :5201' 2>/dev/null | grep -q 10.23.0.30 && break
                uoat_pid_alive "$pid" || break
                sleep 0.1
        done
        as_slice A u00 iperf3 -c 10.23.0.30 -t 2 -f m
        expect "iperf3 done" "$([ "$RC" = 0 ] && has "receiver"; echo $?)"
        wait "$pid" 2>/dev/null
        say "iperf3 server on C: $(grep -m 1 'Accepted connection' "$T/iperf-s.log")"
        expect "the server saw u00's 10.12.0.10" "$(grep -q 'Accepted connection from 10.12.0.10' "$T/iperf-s.log"; echo $?)"
}

isolation() {
        step "8. Isolation between the slices"
        say "u00 cannot take u11's address:"
        as_slice A u00 uoa-probe bind 4 tcp 10.12.0.11 179
        expect "err EADDRNOTAVAIL" "$([ "$OUT" = "err EADDRNOTAVAIL" ]; echo $?)"
        say "" "u00 cannot route in u11's table (nor read it):"
        as_slice A u00 ip route add 10.99.0.0/24 via 10.12.0.21 table "${VINI_TABLE[u11]}"
        expect "Error: uoa: table ${VINI_TABLE[u11]} ..." "$([ "$RC" != 0 ] && [[ $ERR == *"uoa: table ${VINI_TABLE[u11]}"* ]]; echo $?)"
        as_slice A u00 ip route show table "${VINI_TABLE[u11]}"
        expect "refused, nothing listed" "$([ "$RC" != 0 ] && ! has 10.200.; echo $?)"
        say "" "Each slice sees its own addresses only (ip addr, BIRD, zebra), so its daemons announce"
        say "only its own connected prefixes (u00's LAN 10.210.1.0/24 on A, never u11's 10.211.1.0/24):"
        as_slice A u00 ip -br addr
        expect "lo's and u00's addresses only" \
                "$(has 10.12.0.10/24 && has 10.210.1.1/24 && ! has 10.12.0.1/ && ! has 10.12.0.11/ && ! has 10.211.; echo $?)"
        as_slice A u00 birdc -s A/u00/bird.ctl show route protocol connected
        expect "u00's connected prefixes, not u11's" "$(has 10.210.1.0/24 && ! has 10.211.1.0/24; echo $?)"
        as_slice A u11 vtysh --vty_socket A/u11 -c "show ip route connected"
        expect "u11's connected prefixes, not u00's" "$(has 10.211.1.0/24 && ! has 10.210.1.0/24; echo $?)"
        as_root B ip route show table "${VINI_TABLE[u00]}" root 10.210.0.0/15
        expect "B learned u00's LAN from u00's BGP, and nothing of u11's" \
                "$(has "10.210.1.0/24 via 10.12.0.10" && ! has 10.211.; echo $?)"
        say "" "u11 has no route to u00's address on C, whatever u00's table says:"
        as_slice A u11 ping -c 1 -W 1 10.23.0.30
        expect "Network is unreachable" "$([ "$RC" != 0 ] && [[ $ERR == *unreachable* ]]; echo $?)"
}

main() {
        local t0
        t0=$(uoat_now_ms)
        vini_traps
        intro
        build "$1"
        policies
        converge
        sessions
        tables
        traffic
        isolation
        echo
        if [ "$DEMO_OK" = 1 ]; then
                echo "demo: every step behaved as shown ($(( ($(uoat_now_ms) - t0) / 1000 )) s); removing the world."
                exit 0
        fi
        echo "demo: some steps did not behave as expected (marked !!); removing the world."
        exit 1
}

main "$@"
