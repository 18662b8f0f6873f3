#!/bin/bash
# tests/integration/vini.sh BUILD_DIR: the seed paper's VINI demonstration as
# an end-to-end test (docs/design.md §10). Three nodes in network namespaces, one
# uoad per node, slices u00 (BIRD) and u11 (FRR) peering with BGP across them
# into their own tables; then routes, the slices' view, traffic across B and
# isolation are checked, the world is removed and found gone. Output as
# run.sh's: "ok - " / "FAIL - " lines, "N passed, M failed" last.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/vini.sh
. "$HERE/../../tools/vini.sh"

if [ $# -ne 1 ]; then
        echo "usage: $0 BUILD_DIR" >&2
        exit 2
fi

UOAT_TIMEOUT=8 # bounds every single command below (uoat_capture)

# The root namespace must come out as it went in (nothing here touches it).
root_state() {
        ip rule show
        ip -br addr show
        sysctl -n net.ipv4.ip_forward
        command -v nft >/dev/null && nft list ruleset
}

# ---- helpers -----------------------------------------------------------------------
# run NODE SLICE CMD...: CMD as the slice on NODE under uoa-run, into OUT/ERR/RC.
run() {
        local x=$1 s=$2
        shift 2
        vini_run_argv "$x" "$s" "$@"
        uoat_capture "${VINI_CMD[@]}"
}

# root NODE CMD...: CMD as root in NODE, unsupervised.
root() {
        local x=$1
        shift
        uoat_capture ip netns exec "${VINI_NS[$x]}" "$@"
}

check() { # NAME CONDITION-STATUS [EXPECTED]: judge with the last command's output as "got"
        local o=${OUT//$'\n'/ | }
        # shellcheck disable=SC2016 # the quotes inside ${ERR:+...} are literal text
        uoat_check "$1" "$2" "${3:-as described}" "'${o:0:400}' exit $RC${ERR:+ stderr '${ERR:0:200}'}"
}

has() { [[ $OUT == *"$1"* ]]; }

other() { [ "$1" = u00 ] && echo u11 || echo u00; }

# missing_routes NODE SLICE TEXT: expected routes (vini_expected) TEXT lacks.
missing_routes() {
        local dst nh miss=""
        while read -r dst nh; do
                vini_has_route "$3" "$dst" "$nh" || miss+="$dst via $nh; "
        done < <(vini_expected "$1" "$2")
        printf '%s' "$miss"
}

# ---- the world ---------------------------------------------------------------------
world_checks() {
        local x s st f
        echo "# world: nodes ${VINI_NS[A]} ${VINI_NS[B]} ${VINI_NS[C]}, users ${VINI_USER[u00]} ${VINI_USER[u11]}, temp $T"
        root B sysctl -n net.ipv4.ip_forward
        st=1
        [ "$OUT" = 1 ] && [ "$(ip netns exec "${VINI_NS[A]}" sysctl -n net.ipv4.ip_forward)" = 0 ] &&
                [ "$(ip netns exec "${VINI_NS[C]}" sysctl -n net.ipv4.ip_forward)" = 0 ] && st=0
        check "B forwards between its links, A and C do not" $st
        for x in "${VINI_NODES[@]}"; do
                root "$x" "$T/bin/uoamap" --socket "$(vini_sock "$x")" show
                st=0
                for s in "${VINI_SLICES[@]}"; do
                        has "${VINI_USER[$s]}" && has "${VINI_TABLE[$s]}" || st=1
                        for f in $(vini_addrs "$x" "$s"); do has "$f" || st=1; done
                done
                check "$x: uoamap show lists both slices with the node's addresses and tables" $st
        done
}

# Once BGP runs: the daemons are the slices' (the job's pid is the daemon's).
daemon_user_checks() {
        local x d users
        for x in "${VINI_NODES[@]}"; do
                users=""
                for d in bird zebra bgpd; do
                        users+="$d=$(ps -o user:32= -p "${VINI_DAEMON_PID[$x/$d]:-0}" 2>/dev/null) "
                done
                OUT=$users RC=0 ERR=""
                has "bird=${VINI_USER[u00]} " && has "zebra=${VINI_USER[u11]} " &&
                        has "bgpd=${VINI_USER[u11]} "
                check "$x: BIRD runs as u00's user, zebra and bgpd as u11's" $?
        done
}

bgp_checks() {
        local x n want
        echo "# BGP"
        vini_wait_converged "$VINI_WAIT"
        OUT="after ${VINI_CONVERGED_MS} ms" RC=0 ERR=""
        check "every slice table on every node has its routes within ${VINI_WAIT} s" $?
        echo "# converged after $VINI_CONVERGED_MS ms"
        daemon_user_checks
        for x in "${VINI_NODES[@]}"; do
                want=$(vini_peers "$x" | wc -l)
                n=$(vini_bird_established "$x")
                OUT=$(vini_birdc "$x" show protocols 2>&1) RC=0 ERR=""
                check "$x: u00's BIRD has $want BGP session(s) Established" "$([ "$n" = "$want" ]; echo $?)"
                n=$(vini_frr_established "$x")
                OUT=$(vini_vtysh "$x" "show bgp summary" 2>&1) RC=0 ERR=""
                check "$x: u11's bgpd has $want BGP session(s) Established (vtysh as the slice)" \
                        "$([ "$n" = "$want" ]; echo $?)"
        done
}

route_checks() {
        local x s o miss st a line
        echo "# routes: each slice's own table"
        for x in "${VINI_NODES[@]}"; do
                for s in "${VINI_SLICES[@]}"; do
                        o=$(other "$s")
                        root "$x" ip route show table "${VINI_TABLE[$s]}"
                        miss=$(missing_routes "$x" "$s" "$OUT")
                        check "$x: $s's table ${VINI_TABLE[$s]} routes the other nodes' prefixes and far addresses via $s's neighbours" \
                                "$([ -z "$miss" ]; echo $?)" "no route missing (missing: ${miss:-none})"
                        st=0
                        for a in $(vini_addrs "$x" "$o") $(for p in $(vini_peers "$x"); do vini_addr "$p" "$o" "$x"; done); do
                                grep -q "via $a " <<<"$OUT" && st=1
                        done
                        check "$x: $s's table has no next hop of $o's" $st
                done
                root "$x" ip route show table all
                st=0
                while read -r line; do
                        [[ $line == *"table ${VINI_TABLE[u00]}"* || $line == *"table ${VINI_TABLE[u11]}"* ]] || st=1
                done < <(grep -E '10\.200\.|proto (bird|bgp)' <<<"$OUT")
                check "$x: the slices' routes are in their tables only (not main, not any other)" $st
                root "$x" ip route show table main
                check "$x: the host's main table has no 10.200.0.0/16 route" \
                        "$([ "$RC" = 0 ] && ! has 10.200. && ! has bird && ! has bgp; echo $?)"
        done
        # Same prefix, two slices, two next hops: A's 10.200.3.0/24.
        root A ip route show table "${VINI_TABLE[u00]}" 10.200.3.0/24
        a=$OUT
        root A ip route show table "${VINI_TABLE[u11]}" 10.200.3.0/24
        OUT="u00: $a / u11: $OUT"
        check "A: 10.200.3.0/24 goes via 10.12.0.20 for u00 and via 10.12.0.21 for u11" \
                "$([[ $OUT == "u00: 10.200.3.0/24 via 10.12.0.20 "*"/ u11: 10.200.3.0/24 via 10.12.0.21 "* ]]; echo $?)"

        echo "# routes: the slice's view (its table as main)"
        for x in "${VINI_NODES[@]}"; do
                for s in "${VINI_SLICES[@]}"; do
                        run "$x" "$s" ip route
                        miss=$(missing_routes "$x" "$s" "$OUT")
                        st=1
                        [ "$RC" = 0 ] && [ -z "$miss" ] && ! has throw && ! has "proto kernel" &&
                                ! has "$( [ "$s" = u00 ] && echo bgp || echo bird)" && st=0
                        check "$x: under uoa-run, $s's ip route shows its own routes as main, nothing else" $st
                done
        done
}

# ---- the daemons' view (docs/design.md §4 ip addr row, issue 15) -------------------------
# wait_route NODE SLICE PREFIX: up to 5 s for PREFIX in the slice's table (a
# connected prefix travels with the rest, but may trail the convergence check).
wait_route() {
        local i
        for i in $(seq 50); do
                vini_table "$1" "$2" | grep -q "^$3 " && return 0
                sleep 0.1
        done
        return 1
}

view_checks() {
        local x=$VINI_LAN_NODE nb want
        echo "# the slices' view: their own addresses, and the connected routes of those only"
        OUT=$(vini_birdc "$x" show interfaces 2>&1) RC=0 ERR=""
        check "$x: u00's BIRD (protocol device) sees u00's addresses on a-b, no other slice's or the host's" \
                "$(has 10.12.0.10/24 && has "${VINI_LAN[u00]}/24" && ! has 10.12.0.1/ && ! has 10.12.0.11/ &&
                   ! has "${VINI_LAN[u11]}"; echo $?)"
        OUT=$(vini_birdc "$x" show route protocol connected 2>&1)
        check "$x: u00's protocol direct makes its own connected prefixes, not u11's 10.211.1.0/24" \
                "$(has 10.12.0.0/24 && has 10.210.1.0/24 && ! has 10.211.1.0/24; echo $?)"
        for nb in B C; do
                wait_route "$nb" u00 10.210.1.0/24
                root "$nb" ip route show table "${VINI_TABLE[u00]}"
                check "$nb: u00's BGP brought A's u00 connected 10.210.1.0/24 and never u11's 10.211.1.0/24" \
                        "$(has "10.210.1.0/24 via" && ! has 10.211.1.0/24; echo $?)"
        done
        OUT=$(vini_vtysh "$x" "show interface a-b" 2>&1) RC=0 ERR=""
        check "$x: u11's zebra sees u11's addresses on a-b only" \
                "$(has 10.12.0.11/24 && has "${VINI_LAN[u11]}/24" && ! has 10.12.0.1/ && ! has 10.12.0.10/ &&
                   ! has "${VINI_LAN[u00]}"; echo $?)"
        OUT=$(vini_vtysh "$x" "show ip route connected" 2>&1)
        check "$x: u11's zebra has its connected 10.211.1.0/24, not u00's 10.210.1.0/24" \
                "$(has 10.211.1.0/24 && ! has 10.210.1.0/24; echo $?)"
        run "$x" u11 ip -json addr
        OUT=$(python3 -c '
import json, sys
try:
    print(" ".join(sorted(a["local"] for l in json.loads(sys.stdin.read()) for a in l.get("addr_info", [])
                          if not a["local"].startswith("fe80:"))))
except ValueError:
    print("invalid json")' <<<"$OUT")
        want="$(printf '%s\n' 10.12.0.11 "${VINI_LAN[u11]}" 127.0.0.1 ::1 | sort | tr '\n' ' ')"
        check "$x: under uoa-run, u11's ip -json addr is valid and lists lo's and u11's addresses only" \
                "$([ "$OUT " = "$want" ]; echo $?)" "'$want'"
}

isolation_checks() {
        local p=$T/bin/uoa-probe
        echo "# isolation"
        run A u00 "$p" bind 4 tcp 10.12.0.11 179
        uoat_expect "A: u00 binding u11's address 10.12.0.11 gets EADDRNOTAVAIL" "err EADDRNOTAVAIL"
        run A u00 "$p" bind 4 tcp 0.0.0.0 80
        uoat_expect "A: u00 binding 0.0.0.0:80 gets its own 10.12.0.10:80" "ok 10.12.0.10 80"
        run A u11 "$p" bind 4 tcp 0.0.0.0 80
        uoat_expect "A: u11 binding 0.0.0.0:80 gets its own 10.12.0.11:80" "ok 10.12.0.11 80"
        run A u00 ip route add 10.99.0.0/24 via 10.12.0.21 table "${VINI_TABLE[u11]}"
        check "A: u00 adding a route to u11's table is refused (Error: uoa: table ...)" \
                "$([ "$RC" != 0 ] && [[ $ERR == *"Error: uoa: table ${VINI_TABLE[u11]}"* ]]; echo $?)"
        run A u00 ip route show table "${VINI_TABLE[u11]}"
        check "A: u00 cannot read u11's table" "$([ "$RC" != 0 ] && ! has 10.200.; echo $?)"
        run A u11 ip route add 10.99.0.0/24 via 10.12.0.21
        check "A: u11 adds a route with plain ip route add" "$RC"
        root A ip route show table all 10.99.0.0/24
        check "A: root sees it in u11's table ${VINI_TABLE[u11]} and nowhere else" \
                "$([ "$(grep -c . <<<"$OUT")" = 1 ] && has "table ${VINI_TABLE[u11]}"; echo $?)"
        run A u11 ip route del 10.99.0.0/24
        check "A: u11 deletes it again" "$RC"
        run A u11 "$p" tcp 10.23.0.30 7
        uoat_expect "A: u11 has no route to u00's address on C (its table, then main)" "err ENETUNREACH"
}

# B has two links: each slice's BGP daemon listens on the wildcard (BIRD
# without strict bind, bgpd by default), and a wildcard serves every address
# of the slice: each neighbour reaches it on its own link's address.
wildcard_checks() {
        local s p a
        echo "# wildcard listeners on B (two links)"
        for s in "${VINI_SLICES[@]}"; do
                for p in $(vini_peers B); do
                        a=$(vini_addr B "$s" "$p")
                        root "$p" /usr/bin/python3 -c "import socket; socket.create_connection(('$a', 179), 2); print('connected')"
                        check "B: $s's BGP daemon's wildcard listener accepts on $a:179 (from $p)" \
                                "$([ "$RC" = 0 ] && has connected; echo $?)"
                done
        done
}

traffic_checks() {
        local p=$T/bin/uoa-probe s i ok pid
        echo "# traffic across B"
        run A u00 ping -c 2 -i 0.2 -W 2 10.23.0.30
        check "ping u00@A 10.12.0.10 -> u00@C 10.23.0.30, replies come back" \
                "$([ "$RC" = 0 ] && has "2 received" && has "from 10.23.0.30"; echo $?)"
        run A u11 ping -c 2 -i 0.2 -W 2 10.23.0.31
        check "ping u11@A 10.12.0.11 -> u11@C 10.23.0.31, replies come back" \
                "$([ "$RC" = 0 ] && has "2 received" && has "from 10.23.0.31"; echo $?)"
        run C u00 ping -c 1 -W 2 10.12.0.10
        check "ping u00@C -> u00@A, replies come back" "$([ "$RC" = 0 ] && has "1 received"; echo $?)"

        # Each slice's echo peer on C, bound by the wildcard to its own address.
        for s in "${VINI_SLICES[@]}"; do
                vini_run_argv C "$s" "$T/bin/uoa-echo" 7
                "${VINI_CMD[@]}" >"$T/echo-$s.log" 2>&1 </dev/null &
                VINI_PIDS+=($!)
        done
        for i in $(seq 50); do
                grep -q ready "$T/echo-u00.log" 2>/dev/null && grep -q ready "$T/echo-u11.log" 2>/dev/null && break
                sleep 0.1
        done
        run A u00 "$p" tcp 10.23.0.30 7
        uoat_expect "tcp u00@A -> u00@C's echo: the peer sees 10.12.0.10" \
                "ok local=10.12.0.10:* seen=10.12.0.10:{1-65535}"
        run A u00 "$p" udp-sendto 10.23.0.30 7
        uoat_expect "udp u00@A -> u00@C's echo: the peer sees 10.12.0.10, its answer returns" \
                "ok local=* seen=10.12.0.10:{1-65535}"
        run A u11 "$p" tcp 10.23.0.31 7
        uoat_expect "tcp u11@A -> u11@C's echo: the peer sees 10.12.0.11" \
                "ok local=10.12.0.11:* seen=10.12.0.11:{1-65535}"
        run A u11 "$p" udp-sendto 10.23.0.31 7
        uoat_expect "udp u11@A -> u11@C's echo: the peer sees 10.12.0.11, its answer returns" \
                "ok local=* seen=10.12.0.11:{1-65535}"

        # iperf3: the server is u00 on C (wildcard bind), the client u00 on A.
        vini_run_argv C u00 iperf3 -s -1 -p 5201
        timeout -k 2 15 "${VINI_CMD[@]}" >"$T/iperf-s.log" 2>&1 </dev/null &
        pid=$!
        VINI_PIDS+=("$pid")
        ok=0
        for i in $(seq 50); do
                ip netns exec "${VINI_NS[C]}" ss -Hltn 'sport = :5201' 2>/dev/null | grep -q 10.23.0.30 && { ok=1; break; }
                uoat_pid_alive "$pid" || break
                sleep 0.1
        done
        OUT=$(ip netns exec "${VINI_NS[C]}" ss -Hltn 'sport = :5201' 2>&1) RC=0 ERR=$(cat "$T/iperf-s.log")
        check "iperf3 -s as u00 on C listens on u00's 10.23.0.30" "$([ $ok = 1 ]; echo $?)"
        run A u00 iperf3 -c 10.23.0.30 -p 5201 -t 1 -J
        local bytes
        bytes=$(python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bytes"]))' \
                <<<"$OUT" 2>/dev/null || echo 0)
        OUT="received $bytes bytes"
        check "iperf3 -t 1 u00@A -> u00@C moves data" "$([ "$RC" = 0 ] && [ "$bytes" -gt 0 ]; echo $?)"
        wait "$pid" 2>/dev/null
        OUT=$(cat "$T/iperf-s.log") RC=0 ERR=""
        check "the iperf3 server saw the client as 10.12.0.10" "$(has "Accepted connection from 10.12.0.10"; echo $?)"
}

health_checks() {
        local x st=0 rep
        for x in "${VINI_NODES[@]}"; do uoat_pid_alive "${VINI_UOAD_PID[$x]}" || st=1; done
        OUT="" RC=0 ERR=""
        check "every node's uoad is still running" $st
        rep=$(vini_sanitizer_reports)
        OUT=$rep
        check "no sanitizer report in any uoad's log" "$([ -z "$rep" ]; echo $?)"
}

diagnostics() {
        local x f
        for x in "${VINI_NODES[@]}"; do
                for f in "$T/$x/uoad.log" "$T/$x/u00/bird.log" "$T/$x/u00/bird.out" \
                         "$T/$x/u11/zebra.out" "$T/$x/u11/bgpd.out"; do
                        [ -s "$f" ] || continue
                        echo "# last lines of ${f#"$T"/}:"
                        tail -n 8 "$f" | sed 's/^/#   /'
                done
        done
}

# After the tear-down: no namespace, user, process, file of the world is left.
gone_checks() {
        local ns_left="" u users_left="" procs="" x d frr_left="" st
        echo "# tear-down"
        for x in "${VINI_NODES[@]}"; do [ -e "/run/netns/${VINI_NS[$x]}" ] && ns_left+="${VINI_NS[$x]} "; done
        OUT=$ns_left RC=0 ERR=""
        check "no namespace of the world is left" "$([ -z "$ns_left" ]; echo $?)"
        for u in "${VINI_USERS[@]}"; do id -u "$u" >/dev/null 2>&1 && users_left+="$u "; done
        getent group frrvty | grep -q "_$VINI_ID" && users_left+="(still in frrvty) "
        OUT=$users_left
        check "no user of the world is left" "$([ -z "$users_left" ]; echo $?)"
        for u in "${VINI_UIDS[@]}"; do procs+=$(pgrep -U "$u" | tr '\n' ' '); done
        for x in "${VINI_PIDS[@]}" "${VINI_UOADS[@]}"; do uoat_pid_alive "$x" && procs+="$x "; done
        OUT=$procs
        check "no process of the world is left (daemons, uoads, slices' processes)" "$([ -z "$procs" ]; echo $?)"
        for d in "${VINI_FRR_TMP[@]}"; do [ -e "$d" ] && frr_left+="$d "; done
        [ "$VINI_FRR_BASE_NEW" = 1 ] && [ -e /var/tmp/frr ] && frr_left+="/var/tmp/frr "
        [ -n "$T" ] && [ -e "$T" ] && frr_left+="$T "
        OUT=$frr_left
        check "no file of the world is left (temp dir, FRR's /var/tmp/frr dirs)" "$([ -z "$frr_left" ]; echo $?)"
        OUT=$(diff <(printf '%s\n' "$VINI_ROOT_BEFORE") <(root_state 2>&1))
        st=$?
        check "the root namespace's rules, addresses, ip_forward and nftables are untouched" $st
}

main() {
        local t0 s
        t0=$(uoat_now_ms)
        vini_traps
        VINI_ROOT_BEFORE=$(root_state 2>&1)
        if ! vini_setup "$1"; then
                OUT="" RC=1 ERR=""
                check "world setup (namespaces, links, users, uoads, BIRD, zebra, bgpd)" 1
                [ -n "$T" ] && [ -d "$T" ] && diagnostics
                uoat_summary
                exit 1
        fi
        VINI_UIDS=()
        for s in "${VINI_SLICES[@]}"; do VINI_UIDS+=("$(id -u "${VINI_USER[$s]}")"); done
        OUT="" RC=0 ERR=""
        check "world setup (namespaces, links, users, uoads, BIRD, zebra, bgpd)" 0
        world_checks
        bgp_checks
        route_checks
        view_checks
        isolation_checks
        wildcard_checks
        traffic_checks
        health_checks
        [ "$UOAT_FAIL" != 0 ] && diagnostics
        vini_teardown
        gone_checks
        echo "# vini.sh took $(( ($(uoat_now_ms) - t0) / 1000 )) s"
        uoat_summary
}

main "$@"
