# shellcheck shell=bash
# tests/integration/lib.sh: the world the integration suite and the demo run
# in (two network namespaces joined by a veth pair, throw-away slice users, a
# uoad serving them, an echo peer), how to run a command as a slice, and the
# assertions with their counters. Sourced by run.sh and tools/demo.sh.
#
# Everything created here is recorded as it is created, so uoat_cleanup can
# remove exactly that (and nothing else) on exit, error, Ctrl-C or SIGTERM.

# ---- names of the world ------------------------------------------------------
UOAT_ID=$$
H=uoat-h-$UOAT_ID             # the host: uoad, the slices, root's own address
P=uoat-p-$UOAT_ID             # the peer: uoa-echo
UA=uoat${UOAT_ID}a            # dedicated 10.77.0.11 + fd77::11, table 100, raw
UB=uoat${UOAT_ID}b            # dedicated 10.77.0.12 + fd77::12, table 200, interface veth0
US1=uoat${UOAT_ID}s1          # 10.77.0.20 / fd77::20 ports 10000-10999
US2=uoat${UOAT_ID}s2          # 10.77.0.20 / fd77::20 ports 11000-11999
UN=uoat${UOAT_ID}n            # a user with no slice
ECHO_PORT=7
T=""                          # temp dir; $T/bin holds the binaries slices run
SOCK=""                       # uoad's socket ($T/uoad.sock)
BUILD=""                      # absolute build directory

UOA_ENGINE=${UOA_ENGINE:-auto} # uoad --engine for the whole run (CI runs bpf and seccomp)
UOAT_PIDS=()                  # background processes we started
UOAT_NETNS=()                 # namespaces we added
UOAT_USERS=()                 # users we added
UOAT_PINS=()                  # the kernel engine's pin directories of our uoads
UOAT_BPFFS_MOUNTED=0          # 1: we mounted /run/uoa/bpf and unmount it when unused
UOAT_PASS=0
UOAT_FAIL=0
UOAT_QUIET=${UOAT_QUIET:-0}   # 1: print failures only
UOAT_VERBOSE=${UOAT_VERBOSE:-0} # 1: also print what each passing check got

uoat_warn() { printf 'uoat: %s\n' "$*" >&2; }

# ---- cleanup -------------------------------------------------------------------
uoat_pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

# Remove the namespaces / users named (those that still exist), warning
# about any that will not go. Shared by the suites and the demo.
uoat_netns_del_all() {
        local ns
        for ns in "$@"; do
                [ -e "/run/netns/$ns" ] || continue
                ip netns del "$ns" 2>/dev/null || uoat_warn "could not delete netns $ns"
        done
}

uoat_users_del_all() {
        local u
        for u in "$@"; do
                id -u "$u" >/dev/null 2>&1 || continue
                userdel "$u" 2>/dev/null || userdel -f "$u" 2>/dev/null ||
                        uoat_warn "could not delete user $u"
        done
}

# The kernel engine's programs stay attached after a uoad that did not get
# SIGTERM (by design): remove our uoads' pins, which detaches them, and the
# bpf file system if we mounted it and nobody else pins there.
uoat_pins_del_all() {
        local d
        for d in "${UOAT_PINS[@]}"; do
                [ -d "$d" ] && { rm -rf "$d" || uoat_warn "could not remove $d"; }
        done
        if [ "$UOAT_BPFFS_MOUNTED" = 1 ] && [ -z "$(ls -A /run/uoa/bpf/uoa 2>/dev/null)" ]; then
                rmdir /run/uoa/bpf/uoa 2>/dev/null
                umount /run/uoa/bpf 2>/dev/null || uoat_warn "could not unmount /run/uoa/bpf"
        fi
}

uoat_cleanup() {
        local rc=$? pid ns u i
        trap - EXIT INT TERM
        set +e
        # SIGTERM first: uoad removes what it applied on SIGTERM.
        for pid in "${UOAT_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
        for i in $(seq 30); do
                local alive=0
                for pid in "${UOAT_PIDS[@]}"; do uoat_pid_alive "$pid" && alive=1; done
                [ $alive = 0 ] && break
                sleep 0.1
        done
        for pid in "${UOAT_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
        # Whatever still runs inside our namespaces was started by this run.
        for ns in "${UOAT_NETNS[@]}"; do
                for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
        done
        wait 2>/dev/null
        uoat_pins_del_all
        uoat_netns_del_all "${UOAT_NETNS[@]}"
        uoat_users_del_all "${UOAT_USERS[@]}"
        [ -n "$T" ] && [ -d "$T" ] && rm -rf "$T"
        exit "$rc"
}

uoat_traps() {
        trap uoat_cleanup EXIT
        trap 'uoat_warn "interrupted"; exit 130' INT
        trap 'uoat_warn "terminated"; exit 143' TERM
}

# ---- world -------------------------------------------------------------------
uoat_need() {
        local c
        [ "$(id -u)" = 0 ] || { uoat_warn "must run as root"; return 1; }
        for c in ip setpriv useradd userdel timeout "$@"; do
                command -v "$c" >/dev/null || { uoat_warn "missing command: $c"; return 1; }
        done
}

# uoads run under `ip netns exec`, which hides /sys/fs/bpf: give the host a
# bpf file system at /run/uoa/bpf before they start (they inherit it), as a
# testbed host with node namespaces does (docs/deployment.md).
uoat_bpffs_setup() {
        local t
        for t in /sys/fs/bpf /run/uoa/bpf; do
                [ "$(stat -f -c %T "$t" 2>/dev/null)" = bpf_fs ] && return 0
        done
        mkdir -p /run/uoa/bpf && mount -t bpf bpf /run/uoa/bpf || return 1
        UOAT_BPFFS_MOUNTED=1
}

# uoat_pins_record LOG: remember the pin directory a uoad logged (once).
uoat_pins_record() {
        local d
        d=$(sed -n 's/.*pinned at \([^)]*\)).*/\1/p' "$1" 2>/dev/null | head -n 1)
        [ -n "$d" ] || return 0
        [[ " ${UOAT_PINS[*]} " == *" $d "* ]] || UOAT_PINS+=("$d")
}

# After a uoad came up: which engine it runs (auto may give either), and its pins.
UOAT_ENGINE_ACTIVE=seccomp
uoat_engine_note() {
        if grep -q "engine: bpf:" "$1" 2>/dev/null; then UOAT_ENGINE_ACTIVE=bpf; else UOAT_ENGINE_ACTIVE=seccomp; fi
        uoat_pins_record "$1"
}
uoat_bpf() { [ "$UOAT_ENGINE_ACTIVE" = bpf ]; }

# uoat_uoad_spawn NS LOG ARGS...: a uoad with the run's engine.
uoat_uoad_spawn() {
        local ns=$1 log=$2
        shift 2
        uoat_spawn "$ns" "$log" "$BUILD/uoad" --engine "$UOA_ENGINE" "$@"
}

# uoat_tmp_setup BUILD_DIR: $T, $BUILD, $SOCK.
uoat_tmp_setup() {
        BUILD=$(cd "$1" 2>/dev/null && pwd) || { uoat_warn "no build dir '$1'"; return 1; }
        T=$(mktemp -d /tmp/uoat.XXXXXX) || return 1
        mkdir -p "$T/bin" && chmod 755 "$T" "$T/bin" || return 1
        SOCK=$T/uoad.sock
        if findmnt -no OPTIONS -T "$T" 2>/dev/null | grep -qw nosuid; then
                uoat_warn "$T is on a nosuid mount: the setuid uoa-run will not work"
        fi
}

uoat_netns_add() {
        [ -e "/run/netns/$1" ] && { uoat_warn "netns $1 exists already"; return 1; }
        UOAT_NETNS+=("$1") # first: an interrupt right after the add still removes it
        ip netns add "$1" || return 1
        # No DAD anywhere (link-local included): addresses usable at once.
        ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
                net.ipv6.conf.default.accept_dad=0 >/dev/null || return 1
        ip -n "$1" link set lo up
}

# The two namespaces and the link between them; nothing outside them.
uoat_net_setup() {
        local a
        uoat_netns_add "$H" && uoat_netns_add "$P" || return 1
        ip -n "$H" link add veth0 type veth peer name veth0 netns "$P" || return 1
        ip -n "$H" addr add 10.77.0.1/24 dev veth0 || return 1
        # .11 .12 .20 are the slices'; .30 is spare (run.sh assigns it live).
        for a in 11 12 20 30; do ip -n "$H" addr add 10.77.0.$a/24 dev veth0 || return 1; done
        for a in 1 11 12 20; do ip -n "$H" addr add fd77::$a/64 dev veth0 nodad || return 1; done
        ip -n "$P" addr add 10.77.0.2/24 dev veth0 || return 1
        ip -n "$P" addr add fd77::2/64 dev veth0 nodad || return 1
        ip -n "$H" link set veth0 up && ip -n "$P" link set veth0 up
}

uoat_users_setup() {
        local u
        for u in "$UA" "$UB" "$US1" "$US2" "$UN"; do
                id -u "$u" >/dev/null 2>&1 && { uoat_warn "user $u exists already"; return 1; }
                UOAT_USERS+=("$u")
                useradd -M -s /usr/sbin/nologin "$u" || { uoat_warn "useradd $u failed"; return 1; }
        done
}

# The policy of the world (docs/design.md §3 syntax).
uoat_policy_text() {
        cat <<EOF
# uoa integration world $UOAT_ID: two dedicated slices, two sharing 10.77.0.20
$UA address 10.77.0.11
$UA address fd77::11
$UA table 100
$UA raw
$UB address 10.77.0.12
$UB address fd77::12
$UB table 200
$UB interface veth0
$US1 address 10.77.0.20 ports 10000-10999
$US1 address fd77::20 ports 10000-10999
$US2 address 10.77.0.20 ports 11000-11999
$US2 address fd77::20 ports 11000-11999
EOF
}

# Copy what slices execute into $T/bin; uoa-run there is setuid root.
uoat_bins_install() {
        local f missing=0
        for f in uoa-run libuoa-preload.so uoamap tests/uoa-probe tests/uoa-probe-static \
                 tests/uoa-echo tests/uoa-attack tests/uoa-attack-static tests/sockcalls \
                 tests/uoa-stallfs; do
                if [ -e "$BUILD/$f" ]; then
                        cp "$BUILD/$f" "$T/bin/" && chmod 755 "$T/bin/${f##*/}"
                else
                        uoat_warn "missing $BUILD/$f"
                        missing=1
                fi
        done
        [ -e "$T/bin/uoa-run" ] && chown root:root "$T/bin/uoa-run" && chmod 4755 "$T/bin/uoa-run"
        return $missing
}

# Start a background process inside namespace $1, logging to $2; record it.
uoat_spawn() {
        local ns=$1 log=$2
        shift 2
        ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
        UOAT_PIDS+=($!)
        UOAT_LAST_PID=$!
}

# uoat_echo_wait LOG PID: until a uoa-echo logs "ready" (5 s at most);
# otherwise say why and fail.
uoat_echo_wait() {
        local i
        for i in $(seq 50); do
                grep -q ready "$1" 2>/dev/null && return 0
                uoat_pid_alive "$2" || break
                sleep 0.1
        done
        uoat_warn "uoa-echo did not start:"
        sed "s|^|  ${1##*/}: |" "$1" >&2
        return 1
}

uoat_echo_start() {
        uoat_spawn "$P" "$T/echo.log" "$T/bin/uoa-echo" "$ECHO_PORT"
        UOAT_ECHO_PID=$UOAT_LAST_PID
        uoat_echo_wait "$T/echo.log" "$UOAT_ECHO_PID"
}

# uoat_uoad_start [CONFIG]: uoad in the host namespace; ready once its socket exists.
uoat_uoad_start() {
        local conf=${1:-$T/uoa.conf} i
        [ -x "$BUILD/uoad" ] || { uoat_warn "missing $BUILD/uoad"; return 1; }
        uoat_uoad_spawn "$H" "$T/uoad.log" --config "$conf" --socket "$SOCK"
        UOAT_UOAD_PID=$UOAT_LAST_PID
        for i in $(seq 50); do
                [ -S "$SOCK" ] && uoat_engine_note "$T/uoad.log" && return 0
                uoat_pid_alive "$UOAT_UOAD_PID" || break
                sleep 0.1
        done
        uoat_warn "uoad did not come up within 5 s (socket $SOCK):"
        sed 's/^/  uoad.log: /' "$T/uoad.log" >&2
        return 1
}

uoat_uoad_alive() { uoat_pid_alive "$UOAT_UOAD_PID"; }

# The whole world in one call (the demo's way). run.sh calls the steps itself.
uoat_world_setup() {
        uoat_need && uoat_tmp_setup "$1" && uoat_bpffs_setup && uoat_net_setup && uoat_users_setup || return 1
        uoat_policy_text >"$T/uoa.conf"
        uoat_bins_install && uoat_echo_start && uoat_uoad_start
}

# ---- running things ------------------------------------------------------------
# Results of the last run: OUT (stdout), ERR (stderr), RC.
OUT="" ERR="" RC=0 UOAT_SKIPPED=0

# uoat_capture CMD...: run CMD, bounded in time (the probe's own waits are
# 3 s), into OUT/ERR/RC.
UOAT_TIMEOUT=${UOAT_TIMEOUT:-6}
uoat_capture() {
        UOAT_SKIPPED=0
        timeout -k 2 "$UOAT_TIMEOUT" "$@" >"$T/out" 2>"$T/err" </dev/null
        RC=$?
        OUT=$(cat "$T/out")
        ERR=$(cat "$T/err")
}

# Host namespace, as root, not supervised.
uoat_host() { uoat_capture ip netns exec "$H" "$@"; }

# How slices are run; run.sh's loops set these two.
UOAT_WAY=root        # root: uoa-run --user NAME;  user: setpriv to NAME + setuid uoa-run
UOAT_VARIANT=preload # preload | nopreload | static

# uoat_slice_argv USER CMD...: set UOAT_CMD to the argv that runs CMD as slice USER.
uoat_slice_argv() {
        local user=$1
        shift
        local opts=()
        # UOAT_SOCKET_ARG=0: leave the socket to UOA_SOCKET in the environment.
        [ "${UOAT_SOCKET_ARG:-1}" = 1 ] && opts+=(--socket "$SOCK")
        [ "$UOAT_VARIANT" = nopreload ] && opts+=(--no-preload)
        if [ "$UOAT_WAY" = user ]; then
                UOAT_CMD=(ip netns exec "$H" setpriv --reuid="$user" --regid="$user" --clear-groups
                          "$T/bin/uoa-run" "${opts[@]}" -- "$@")
        else
                UOAT_CMD=(ip netns exec "$H" "$T/bin/uoa-run" --user "$user" "${opts[@]}" -- "$@")
        fi
}

# The probe binary of the current variant.
uoat_probe() {
        if [ "$UOAT_VARIANT" = static ]; then echo "$T/bin/uoa-probe-static"; else echo "$T/bin/uoa-probe"; fi
}

# Runs that need uoad and hung or took >= 3 s (a stalled uoad, dropped
# traffic). After UOAT_SLOW_MAX of them the remaining ones are not started,
# so a broken supervisor costs seconds, not minutes of timeouts.
UOAT_SLOW=0
UOAT_SLOW_MAX=${UOAT_SLOW_MAX:-5}

uoat_now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# True (and OUT/ERR/RC set to "not run") once too many runs were slow.
uoat_breaker_open() {
        [ "$UOAT_SLOW" -ge "$UOAT_SLOW_MAX" ] || return 1
        OUT="" ERR="" RC=125 UOAT_SKIPPED=1
}

# uoat_capture_uoad CMD...: uoat_capture for anything that talks to uoad.
uoat_capture_uoad() {
        local t0
        uoat_breaker_open && return
        t0=$(uoat_now_ms)
        uoat_capture "$@"
        if [ "$RC" = 124 ] || [ "$RC" = 137 ] || [ $(($(uoat_now_ms) - t0)) -ge 2900 ]; then
                UOAT_SLOW=$((UOAT_SLOW + 1))
        fi
}

# uoat_slice_run USER CMD...: run CMD as slice USER (the current way/variant).
uoat_slice_run() {
        local user=$1
        shift
        uoat_slice_argv "$user" "$@"
        uoat_capture_uoad "${UOAT_CMD[@]}"
}

# uoat_slice USER PROBE-ARGS...: run the probe as slice USER.
uoat_slice() {
        local user=$1
        shift
        uoat_slice_run "$user" "$(uoat_probe)" "$@"
}

# ---- assertions ----------------------------------------------------------------
uoat_pass() {
        UOAT_PASS=$((UOAT_PASS + 1))
        [ "$UOAT_QUIET" = 1 ] || printf 'ok - %s\n' "$1"
        if [ "${UOAT_VERBOSE:-0}" = 1 ]; then
                [ -n "$OUT" ] && printf '%s\n' "$OUT" | sed 's/^/#   got: /'
                [ -n "$ERR" ] && printf '%s\n' "$ERR" | head -n 5 | sed 's/^/#   stderr: /'
        fi
        return 0
}

# uoat_fail NAME EXPECTED GOT [SHOW-STDERR]: with SHOW-STDERR=1 (the
# default) the last run's stderr follows, indented.
uoat_fail() {
        UOAT_FAIL=$((UOAT_FAIL + 1))
        printf 'FAIL - %s (expected %s, got %s)\n' "$1" "$2" "$3"
        if [ "${4:-1}" = 1 ] && [ -n "$ERR" ]; then
                printf '%s\n' "$ERR" | head -n 5 | sed 's/^/#   stderr: /'
        fi
        return 0
}

# uoat_check NAME COND-STATUS EXPECTED GOT: pass when COND-STATUS is 0.
# GOT says everything (callers put stderr in it when it matters).
uoat_check() {
        if [ "$2" = 0 ]; then uoat_pass "$1"; else uoat_fail "$1" "$3" "$4" 0; fi
}

# uoat_match PATTERN STRING: PATTERN is literal text where `*` is any run of
# non-blanks and `{LO-HI}` an integer in LO..HI, matched against the whole
# STRING ("ok 10.77.0.20 {10000-10999}", "ok local=* seen=[fd77::11]:{1-65535}").
uoat_match() {
        local pat=$1 s=$2 re='^' c i
        local -a ranges=()
        while [ -n "$pat" ]; do
                if [[ $pat =~ ^\{([0-9]+)-([0-9]+)\}(.*)$ ]]; then
                        re+='([0-9]+)'
                        ranges+=("${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
                        pat=${BASH_REMATCH[3]}
                        continue
                fi
                c=${pat:0:1}
                pat=${pat:1}
                if [ "$c" = '*' ]; then
                        re+='[^[:space:]]*'
                elif [[ '[]\.^$|?+(){}' == *"$c"* ]]; then
                        re+="\\$c"
                else
                        re+=$c
                fi
        done
        re+='$'
        [[ $s =~ $re ]] || return 1
        for ((i = 0; i < ${#ranges[@]}; i += 2)); do
                local v=${BASH_REMATCH[$((i / 2 + 1))]}
                [ ${#v} -le 6 ] || return 1
                ((10#$v >= ranges[i] && 10#$v <= ranges[i + 1])) || return 1
        done
        return 0
}

# A compact form of what a command produced, for FAIL lines.
uoat_got() {
        local o=${OUT//$'\n'/ | }
        [ -n "$o" ] || o="(no output)"
        if [ "${UOAT_SKIPPED:-0}" = 1 ]; then
                printf 'not run (%s earlier runs hung or timed out)' "$UOAT_SLOW"
        elif [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
                printf "'%s' timed out after %ss" "$o" "$UOAT_TIMEOUT"
        else
                printf "'%s' exit %s" "$o" "$RC"
        fi
}

# uoat_expect NAME PATTERN: judge the last run. "ok ..." also needs exit 0,
# "err ..." exit 1 (uoa-run exits with the probe's status).
uoat_expect() {
        local name=$1 pat=$2 want_rc=0
        [[ $pat == err* ]] && want_rc=1
        if [ "$RC" = "$want_rc" ] && uoat_match "$pat" "$OUT"; then
                uoat_pass "$name"
        else
                uoat_fail "$name" "'$pat' exit $want_rc" "$(uoat_got)"
        fi
}

uoat_summary() {
        printf '%d passed, %d failed\n' "$UOAT_PASS" "$UOAT_FAIL"
        [ "$UOAT_FAIL" = 0 ]
}

# ---- iperf3 ------------------------------------------------------------------
# uoat_iperf_mbit FILE: the receiver's rate of an `iperf3 -f m` run in FILE,
# as an integer (0 if it did not run). shape.sh, the shaping demo and bench.
uoat_iperf_mbit() {
        awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") r = $i } END { printf "%d\n", r }' "$1"
}
