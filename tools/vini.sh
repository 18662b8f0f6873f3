# shellcheck shell=bash
# tools/vini.sh: the seed paper's VINI world, shared by tools/demo.sh and
# tests/integration/vini.sh. Three nodes A, B, C (network namespaces) in a
# line, joined by veth links; one uoad per node with its own policy; two
# slices on every node, u00 running BIRD 2 and u11 running FRR (zebra + bgpd),
# each peering over its own addresses and installing what it learns into its
# own table. Everything is recorded as it is created, and vini_teardown
# removes exactly that: on exit, error, Ctrl-C or SIGTERM.
#
#   A a-b ---- b-a B b-c ---- c-b C
#      10.12.0.0/24     10.23.0.0/24
#
# On each link a node has its host address (.1 A, .2 B, .3 C) and one address
# per slice: u00 .N0, u11 .N1 (N the node's number). Both slices announce the
# same loopback-like prefix 10.200.N.0/24 (blackhole) from node N, plus their
# own addresses as /32, so traffic between A and C crosses B, which forwards.
# On A each slice also has a LAN address with a prefix of its own on a-b
# (u00 10.210.1.1/24, u11 10.211.1.1/24): BIRD's direct protocol announces
# the connected prefixes it sees, and sees only its slice's (issue 15).

VINI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$VINI_ROOT/tests/integration/lib.sh"

# ---- the world's description -------------------------------------------------
VINI_ID=$$
VINI_NODES=(A B C)
VINI_SLICES=(u00 u11)
VINI_LINKS=("A B 10.12.0" "B C 10.23.0")      # node, node, /24 prefix
declare -A VINI_NUM=([A]=1 [B]=2 [C]=3)
declare -A VINI_NS=([A]=vini-a-$VINI_ID [B]=vini-b-$VINI_ID [C]=vini-c-$VINI_ID)
declare -A VINI_USER=([u00]=u00_$VINI_ID [u11]=u11_$VINI_ID)
declare -A VINI_TABLE=([u00]=32800 [u11]=32811)
declare -A VINI_OCTET=([u00]=0 [u11]=1)        # slice address: .N0 / .N1
declare -A VINI_ASBASE=([u00]=65000 [u11]=65100)
declare -A VINI_LAN=([u00]=10.210.1.1 [u11]=10.211.1.1) # on A's a-b, /24
VINI_LAN_NODE=A
VINI_FRR=/usr/lib/frr
VINI_WAIT=${VINI_WAIT:-30}                     # seconds BGP may take to converge

T=""                                            # the run's directory (lib.sh's name)
BUILD=""
VINI_PIDS=()        # routing daemons and helpers we started (killed first)
VINI_UOADS=()       # one uoad per node, in node order
VINI_NETNS=()
VINI_USERS=()
VINI_FRR_TMP=()     # /var/tmp/frr/DAEMON.PID directories FRR made for us
VINI_FRR_BASE_NEW=0 # 1: /var/tmp/frr did not exist before this run
VINI_TORN=0
declare -A VINI_UOAD_PID=()
# shellcheck disable=SC2034 # read by tests/integration/vini.sh
declare -A VINI_DAEMON_PID=() # "NODE/NAME" (A/bird, A/zebra, A/bgpd) -> pid

# ---- derived names and addresses ---------------------------------------------------
vini_ns() { echo "${VINI_NS[$1]}"; }
vini_sock() { echo "$T/$1/uoad.sock"; }
vini_dir() { echo "$T/$1/$2"; }                 # NODE SLICE: the daemons' directory
vini_prefix() { echo "10.200.${VINI_NUM[$1]}.0/24"; }
vini_as() { echo $((VINI_ASBASE[$2] + VINI_NUM[$1])); }   # NODE SLICE

# vini_if NODE PEER: NODE's end of the link to PEER ("a-b").
vini_if() { echo "${1,,}-${2,,}"; }

# vini_subnet NODE PEER: the link's /24 prefix ("10.12.0"), empty if none.
vini_subnet() {
        local l n1 n2 net
        for l in "${VINI_LINKS[@]}"; do
                read -r n1 n2 net <<<"$l"
                if { [ "$n1" = "$1" ] && [ "$n2" = "$2" ]; } || { [ "$n1" = "$2" ] && [ "$n2" = "$1" ]; }; then
                        echo "$net"
                        return 0
                fi
        done
        return 1
}

# vini_peers NODE: the nodes NODE has a link to, in link order.
vini_peers() {
        local l n1 n2 net
        for l in "${VINI_LINKS[@]}"; do
                read -r n1 n2 net <<<"$l"
                [ "$n1" = "$1" ] && echo "$n2"
                [ "$n2" = "$1" ] && echo "$n1"
        done
        return 0
}

vini_host_addr() { echo "$(vini_subnet "$1" "$2").${VINI_NUM[$1]}"; }      # NODE PEER
vini_addr() { echo "$(vini_subnet "$1" "$3").$((VINI_NUM[$1] * 10 + VINI_OCTET[$2]))"; } # NODE SLICE PEER

# vini_addrs NODE SLICE: the slice's addresses on NODE, primary first.
vini_addrs() {
        local p
        for p in $(vini_peers "$1"); do vini_addr "$1" "$2" "$p"; done
}

# vini_toward NODE DEST: the neighbour NODE sends through to reach DEST. In a
# line, a node that is not DEST's neighbour is an end node with one neighbour.
vini_toward() {
        local p peers
        peers=$(vini_peers "$1")
        for p in $peers; do [ "$p" = "$2" ] && { echo "$p"; return 0; }; done
        echo "${peers%%$'\n'*}"
}

# vini_nexthop NODE SLICE DEST: the next hop SLICE's routes on NODE toward
# DEST's prefix must have: the slice's own address on the neighbour's end.
vini_nexthop() {
        local nb
        nb=$(vini_toward "$1" "$3")
        vini_addr "$nb" "$2" "$1"
}

# vini_on_link NODE ADDR: ADDR is on one of NODE's links (directly reachable).
vini_on_link() {
        local p
        for p in $(vini_peers "$1"); do [ "${2%.*}" = "$(vini_subnet "$1" "$p")" ] && return 0; done
        return 1
}

# vini_expected NODE SLICE: "DESTINATION NEXTHOP" lines the slice's table on
# NODE must hold once BGP has converged (as `ip route` prints destinations):
# the other nodes' prefixes, and the slice's addresses beyond NODE's links.
vini_expected() {
        local x=$1 s=$2 y a nh
        for y in "${VINI_NODES[@]}"; do
                [ "$y" = "$x" ] && continue
                nh=$(vini_nexthop "$x" "$s" "$y")
                echo "$(vini_prefix "$y") $nh"
                for a in $(vini_addrs "$y" "$s"); do
                        vini_on_link "$x" "$a" || echo "$a $nh"
                done
        done
}

# ---- configuration generators ------------------------------------------------------
# vini_policy NODE: the node's uoa.conf (docs/design.md §3), in the spirit of the seed
# paper's Table 2: per node, each slice its addresses, its table, its links.
vini_policy() {
        local x=$1 s a p
        echo "# uoa policy of node $x (VINI world $VINI_ID): slices u00 and u11"
        for s in "${VINI_SLICES[@]}"; do
                for a in $(vini_addrs "$x" "$s"); do echo "${VINI_USER[$s]} address $a"; done
                [ "$x" = "$VINI_LAN_NODE" ] && echo "${VINI_USER[$s]} address ${VINI_LAN[$s]}"
                echo "${VINI_USER[$s]} table ${VINI_TABLE[$s]}"
                for p in $(vini_peers "$x"); do echo "${VINI_USER[$s]} interface $(vini_if "$x" "$p")"; done
                echo "${VINI_USER[$s]} raw"
        done
}

# vini_bird_conf NODE: BIRD 2 for u00. The kernel protocol's table is the
# slice's own (BIRD sees it as main); its own /32s are announced, not
# installed, and so are the connected prefixes (protocol direct) of the
# addresses BIRD sees: the slice's own only.
vini_bird_conf() {
        local x=$1 s=u00 d p a
        d=$(vini_dir "$x" u00)
        cat <<EOF
# BIRD 2 of slice u00 on node $x (tools/vini.sh)
router id $(vini_addrs "$x" $s | head -n 1);
log "$d/bird.log" all;
protocol device { }
protocol direct connected {
        ipv4;
}
protocol kernel {
        ipv4 { export where proto != "own_addrs" && source != RTS_DEVICE; };
}
protocol static loopback {
        ipv4;
        route $(vini_prefix "$x") blackhole;
}
protocol static own_addrs {
        ipv4;
EOF
        for a in $(vini_addrs "$x" $s); do echo "        route $a/32 blackhole;"; done
        cat <<EOF
}
template bgp peer {
        hold time 3; keepalive time 1; connect retry time 1; connect delay time 1;
        error wait time 1, 5;
        # No strict bind: BIRD listens on the wildcard, which uoa steers on
        # every address of the slice (on B, both links' addresses).
        ipv4 { import all; export all; };
}
EOF
        for p in $(vini_peers "$x"); do
                cat <<EOF
protocol bgp to_$p from peer {
        local $(vini_addr "$x" $s "$p") as $(vini_as "$x" $s);
        neighbor $(vini_addr "$p" $s "$x") as $(vini_as "$p" $s);
}
EOF
        done
}

# vini_zebra_conf NODE: zebra for u11 (nexthop objects are global to the host).
vini_zebra_conf() {
        printf 'hostname %s-u11\nno zebra nexthop kernel enable\n' "$1"
}

vini_bgpd_conf() {
        local x=$1 s=u11 p a nb
        cat <<EOF
! FRR bgpd of slice u11 on node $x (tools/vini.sh)
hostname $x-u11
router bgp $(vini_as "$x" $s)
 bgp router-id $(vini_addrs "$x" $s | head -n 1)
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 1 3
EOF
        for p in $(vini_peers "$x"); do
                nb=$(vini_addr "$p" $s "$x")
                echo " neighbor $nb remote-as $(vini_as "$p" $s)"
                echo " neighbor $nb update-source $(vini_addr "$x" $s "$p")"
                echo " neighbor $nb timers connect 1"
                echo " neighbor $nb advertisement-interval 0"
        done
        echo " address-family ipv4 unicast"
        echo "  network $(vini_prefix "$x")"
        for a in $(vini_addrs "$x" $s); do echo "  network $a/32"; done
        # FRR 8.4 holds a path invalid when its next hop is the announced /32
        # itself ("prefix loops through itself"), so C's own 10.23.0.31/32
        # would stop at B: a transit node announces its neighbours' /32s.
        if [ "$(vini_peers "$x" | wc -l)" -gt 1 ]; then
                for p in $(vini_peers "$x"); do echo "  network $(vini_addr "$p" $s "$x")/32"; done
        fi
        echo " exit-address-family"
}

# ---- teardown ----------------------------------------------------------------------
vini_kill_wait() { # SECONDS PID...: SIGTERM, wait, SIGKILL what is left
        local secs=$1 pid i alive
        shift
        [ $# = 0 ] && return 0
        for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
        for ((i = 0; i < secs * 10; i++)); do
                alive=0
                for pid in "$@"; do uoat_pid_alive "$pid" && alive=1; done
                [ $alive = 0 ] && return 0
                sleep 0.1
        done
        for pid in "$@"; do kill -KILL "$pid" 2>/dev/null; done
        return 0
}

# The daemons' own pid files (a daemon that forked is still found).
vini_daemon_pids() {
        local x f pid
        [ -n "$T" ] || return 0
        for x in "${VINI_NODES[@]}"; do
                for f in "$T/$x/u00/bird.pid" "$T/$x/u11/zebra.pid" "$T/$x/u11/bgpd.pid"; do
                        [ -s "$f" ] || continue
                        read -r pid <"$f" 2>/dev/null
                        [[ $pid =~ ^[0-9]+$ ]] && echo "$pid"
                done
        done
}

# vini_teardown: remove the world; idempotent, safe at any point of setup.
vini_teardown() {
        local pid ns u x d
        [ "$VINI_TORN" = 1 ] && return 0
        VINI_TORN=1
        cd / || true # the demo works inside $T, which goes below
        trap '' INT TERM # a second Ctrl-C must not leave half a world behind
        # Daemons first, while uoad still relays their route withdrawals.
        # shellcheck disable=SC2046
        vini_kill_wait 3 "${VINI_PIDS[@]}" $(vini_daemon_pids)
        # uoad removes what it applied on SIGTERM.
        vini_kill_wait 3 "${VINI_UOADS[@]}"
        # Whatever still runs inside our namespaces was started by this run.
        for ns in "${VINI_NETNS[@]}"; do
                for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        done
        wait 2>/dev/null
        uoat_pins_del_all
        # FRR's per-daemon scratch directories (removed by FRR itself on a
        # clean exit; not after SIGKILL).
        for d in "${VINI_FRR_TMP[@]}"; do rm -rf "$d"; done
        if [ "$VINI_FRR_BASE_NEW" = 1 ] && [ -d /var/tmp/frr ]; then
                rmdir /var/tmp/frr 2>/dev/null
        fi
        uoat_netns_del_all "${VINI_NETNS[@]}"
        uoat_users_del_all "${VINI_USERS[@]}"
        [ -n "$T" ] && [ -d "$T" ] && rm -rf "$T"
        for x in "${VINI_NODES[@]}"; do VINI_UOAD_PID[$x]=""; done
        trap 'uoat_warn "interrupted"; exit 130' INT
        trap 'uoat_warn "terminated"; exit 143' TERM
        return 0
}

vini_on_exit() {
        local rc=$?
        trap - EXIT
        vini_teardown
        exit "$rc"
}

vini_traps() {
        trap vini_on_exit EXIT
        trap 'uoat_warn "interrupted"; exit 130' INT
        trap 'uoat_warn "terminated"; exit 143' TERM
}

# ---- building the world ------------------------------------------------------------
vini_need() {
        local c
        uoat_need bird birdc iperf3 vtysh useradd usermod sysctl || return 1
        for c in "$VINI_FRR/zebra" "$VINI_FRR/bgpd"; do
                [ -x "$c" ] || { uoat_warn "missing $c (apt-get install frr)"; return 1; }
        done
        getent group frrvty >/dev/null || { uoat_warn "no group frrvty (apt-get install frr)"; return 1; }
}

vini_tmp_setup() { # BUILD_DIR
        BUILD=$(cd "$1" 2>/dev/null && pwd) || { uoat_warn "no build dir '$1'"; return 1; }
        T=$(mktemp -d /tmp/uoa-vini.XXXXXX) || return 1
        mkdir -p "$T/bin" && chmod 755 "$T" "$T/bin" || return 1
        if findmnt -no OPTIONS -T "$T" 2>/dev/null | grep -qw nosuid; then
                uoat_warn "$T is on a nosuid mount: the setuid uoa-run will not work"
        fi
}

vini_net_setup() {
        local x l n1 n2 net s p
        for x in "${VINI_NODES[@]}"; do
                VINI_NETNS+=("${VINI_NS[$x]}") # before the add: an interrupt still removes it
                uoat_netns_add "${VINI_NS[$x]}" || return 1
        done
        for l in "${VINI_LINKS[@]}"; do
                read -r n1 n2 net <<<"$l"
                ip -n "${VINI_NS[$n1]}" link add "$(vini_if "$n1" "$n2")" type veth \
                        peer name "$(vini_if "$n2" "$n1")" netns "${VINI_NS[$n2]}" || return 1
        done
        for x in "${VINI_NODES[@]}"; do
                for p in $(vini_peers "$x"); do
                        ip -n "${VINI_NS[$x]}" addr add "$(vini_host_addr "$x" "$p")/24" \
                                dev "$(vini_if "$x" "$p")" || return 1
                        for s in "${VINI_SLICES[@]}"; do
                                ip -n "${VINI_NS[$x]}" addr add "$(vini_addr "$x" "$s" "$p")/24" \
                                        dev "$(vini_if "$x" "$p")" || return 1
                        done
                        ip -n "${VINI_NS[$x]}" link set "$(vini_if "$x" "$p")" up || return 1
                done
        done
        for s in "${VINI_SLICES[@]}"; do
                ip -n "${VINI_NS[$VINI_LAN_NODE]}" addr add "${VINI_LAN[$s]}/24" \
                        dev "$(vini_if "$VINI_LAN_NODE" "$(vini_peers "$VINI_LAN_NODE" | head -n 1)")" || return 1
        done
        # B routes between its links; nothing else forwards, the host never.
        ip netns exec "${VINI_NS[B]}" sysctl -qw net.ipv4.ip_forward=1
}

vini_users_setup() {
        local s u
        for s in "${VINI_SLICES[@]}"; do
                u=${VINI_USER[$s]}
                id -u "$u" >/dev/null 2>&1 && { uoat_warn "user $u exists already"; return 1; }
                VINI_USERS+=("$u")
                useradd -M -s /usr/sbin/nologin "$u" || { uoat_warn "useradd $u failed"; return 1; }
        done
        # FRR's daemons check that their user is in the vty group.
        usermod -a -G frrvty "${VINI_USER[u11]}" || { uoat_warn "usermod -G frrvty failed"; return 1; }
}

vini_files_setup() {
        local x s d
        for x in "${VINI_NODES[@]}"; do
                mkdir -p "$T/$x" && chmod 755 "$T/$x" || return 1
                vini_policy "$x" >"$T/$x/uoa.conf"
                for s in "${VINI_SLICES[@]}"; do
                        d=$(vini_dir "$x" "$s")
                        mkdir -p "$d" && chown "${VINI_USER[$s]}:" "$d" && chmod 755 "$d" || return 1
                done
                vini_bird_conf "$x" >"$T/$x/u00/bird.conf"
                vini_zebra_conf "$x" >"$T/$x/u11/zebra.conf"
                vini_bgpd_conf "$x" >"$T/$x/u11/bgpd.conf"
                chmod 644 "$T/$x/uoa.conf" "$T/$x"/u*/*.conf
        done
}

# vini_spawn NS LOG CMD...: a background process in a namespace, recorded.
vini_spawn() {
        local ns=$1 log=$2
        shift 2
        ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
        VINI_LAST_PID=$!
}

vini_uoads_start() {
        local x i sock ok
        [ -x "$BUILD/uoad" ] || { uoat_warn "missing $BUILD/uoad"; return 1; }
        uoat_bpffs_setup || { uoat_warn "no bpf file system for the kernel engine"; return 1; }
        for x in "${VINI_NODES[@]}"; do
                vini_spawn "${VINI_NS[$x]}" "$T/$x/uoad.log" "$BUILD/uoad" --engine "$UOA_ENGINE" \
                        --config "$T/$x/uoa.conf" --socket "$(vini_sock "$x")"
                VINI_UOADS+=("$VINI_LAST_PID")
                VINI_UOAD_PID[$x]=$VINI_LAST_PID
        done
        for x in "${VINI_NODES[@]}"; do
                sock=$(vini_sock "$x") ok=0
                for i in $(seq 50); do
                        [ -S "$sock" ] && { ok=1; uoat_pins_record "$T/$x/uoad.log"; break; }
                        uoat_pid_alive "${VINI_UOAD_PID[$x]}" || break
                        sleep 0.1
                done
                if [ $ok = 0 ]; then
                        uoat_warn "uoad of node $x did not come up within 5 s:"
                        sed 's/^/  uoad.log: /' "$T/$x/uoad.log" >&2
                        return 1
                fi
        done
}

# vini_run_argv NODE SLICE CMD...: VINI_CMD is the argv running CMD as the
# slice's user under uoa-run on NODE (root's way: uoa-run --user), VINI_RUN
# the same without the namespace prefix.
vini_run_argv() {
        local x=$1 s=$2
        shift 2
        VINI_RUN=("$T/bin/uoa-run" --socket "$(vini_sock "$x")" --user "${VINI_USER[$s]}" -- "$@")
        VINI_CMD=(ip netns exec "${VINI_NS[$x]}" "${VINI_RUN[@]}")
}

# vini_slice_daemon NODE SLICE NAME CMD...: start a slice's daemon in the
# foreground of a background job (ip netns exec and uoa-run both exec, so the
# job's pid is the daemon's), output to DIR/NAME.out.
vini_slice_daemon() {
        local x=$1 s=$2 name=$3
        shift 3
        vini_run_argv "$x" "$s" "$@"
        vini_spawn "${VINI_NS[$x]}" "$(vini_dir "$x" "$s")/$name.out" "${VINI_RUN[@]}"
        VINI_PIDS+=("$VINI_LAST_PID")
        # shellcheck disable=SC2034 # read by tests/integration/vini.sh
        VINI_DAEMON_PID[$x/$name]=$VINI_LAST_PID
}

vini_frr_args() { # NODE DAEMON
        local d
        d=$(vini_dir "$1" u11)
        echo "-u ${VINI_USER[u11]} -g frrvty -f $d/$2.conf -i $d/$2.pid -z $d/zserv.api --vty_socket $d -P 0"
}

# The routing daemons: BIRD for u00 and zebra for u11 on every node, then
# bgpd once zebra's socket exists.
vini_daemons_start() {
        local x d i
        [ -d /var/tmp/frr ] || VINI_FRR_BASE_NEW=1
        for x in "${VINI_NODES[@]}"; do
                d=$(vini_dir "$x" u00)
                vini_slice_daemon "$x" u00 bird bird -f -c "$d/bird.conf" -s "$d/bird.ctl" -P "$d/bird.pid"
                # shellcheck disable=SC2046
                vini_slice_daemon "$x" u11 zebra "$VINI_FRR/zebra" $(vini_frr_args "$x" zebra)
                VINI_FRR_TMP+=("/var/tmp/frr/zebra.$VINI_LAST_PID")
        done
        for x in "${VINI_NODES[@]}"; do
                d=$(vini_dir "$x" u11)
                for i in $(seq 50); do
                        [ -S "$d/zserv.api" ] && break
                        sleep 0.1
                done
                [ -S "$d/zserv.api" ] || {
                        uoat_warn "zebra of node $x made no zserv socket within 5 s:"
                        sed 's/^/  zebra.out: /' "$d/zebra.out" >&2
                        return 1
                }
                # shellcheck disable=SC2046
                vini_slice_daemon "$x" u11 bgpd "$VINI_FRR/bgpd" $(vini_frr_args "$x" bgpd)
                VINI_FRR_TMP+=("/var/tmp/frr/bgpd.$VINI_LAST_PID")
        done
}

# vini_setup BUILD_DIR: the whole world up to running daemons (not converged).
vini_setup() {
        vini_need && vini_tmp_setup "$1" && vini_net_setup && vini_users_setup &&
                vini_files_setup && uoat_bins_install && vini_uoads_start && vini_daemons_start
}

# ---- looking at it -------------------------------------------------------------------
# vini_table NODE SLICE: the slice's table as root sees it.
vini_table() { ip -n "${VINI_NS[$1]}" route show table "${VINI_TABLE[$2]}"; }

# vini_has_route TEXT DEST NEXTHOP: TEXT (ip route output) routes DEST via NEXTHOP.
vini_has_route() {
        grep -Eq "^${2//./\\.}( |/32 )via ${3//./\\.} " <<<"$1"
}

# vini_converged: every slice table on every node has what vini_expected says.
vini_converged() {
        local x s out dst nh
        for x in "${VINI_NODES[@]}"; do
                for s in "${VINI_SLICES[@]}"; do
                        out=$(vini_table "$x" "$s" 2>/dev/null) || return 1
                        while read -r dst nh; do
                                vini_has_route "$out" "$dst" "$nh" || return 1
                        done < <(vini_expected "$x" "$s")
                done
        done
}

# vini_wait_converged [SECONDS]: poll; VINI_CONVERGED_MS says how long it took.
vini_wait_converged() {
        local limit=${1:-$VINI_WAIT} t0
        t0=$(uoat_now_ms)
        while :; do
                VINI_CONVERGED_MS=$(($(uoat_now_ms) - t0))
                vini_converged && return 0
                [ "$VINI_CONVERGED_MS" -ge $((limit * 1000)) ] && return 1
                sleep 0.25
        done
}

# vini_birdc NODE CMD...: BIRD's client on u00's control socket, as root.
vini_birdc() {
        ip netns exec "${VINI_NS[$1]}" birdc -s "$(vini_dir "$1" u00)/bird.ctl" "${@:2}"
}

# vini_vtysh NODE CMD: FRR's shell as u11's user under uoa-run (vtysh only
# talks to the daemons' unix sockets). Its complaints about the system-wide
# /etc/frr/vtysh.conf and PAM, which a slice user cannot read, are dropped.
vini_vtysh() {
        vini_run_argv "$1" u11 vtysh --vty_socket "$(vini_dir "$1" u11)" -c "$2"
        "${VINI_CMD[@]}" 2> >(grep -Ev 'vtysh\.conf|vtysh_pam' >&2)
}

# vini_bird_established NODE: how many of BIRD's BGP sessions are Established.
vini_bird_established() {
        vini_birdc "$1" show protocols 2>/dev/null | awk '$2 == "BGP" && $6 == "Established" {n++} END {print n + 0}'
}

# vini_frr_established NODE: likewise for bgpd (from its JSON summary).
vini_frr_established() {
        vini_vtysh "$1" "show bgp ipv4 unicast summary json" 2>/dev/null | python3 -c '
import json, sys
try:
    peers = json.load(sys.stdin).get("peers", {})
except ValueError:
    peers = {}
print(sum(1 for p in peers.values() if p.get("state") == "Established"))'
}

# vini_sanitizer_reports: uoad logs mentioning a sanitizer report (asan build).
vini_sanitizer_reports() {
        local x
        for x in "${VINI_NODES[@]}"; do
                grep -HEm 3 "AddressSanitizer|LeakSanitizer|runtime error:" "$T/$x/uoad.log" 2>/dev/null
        done
        return 0
}
