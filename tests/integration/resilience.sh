# tests/integration/resilience.sh: sourced by run.sh (its world, its
# helpers). A supervisor nothing stops (docs/design.md §5.5, §5.7):
# memstall_check: a slice whose memory blocks uoad's reads stalls only
# itself; upgrade_checks: SIGUSR2 re-executes uoad in place and running
# sessions (seccomp listeners, proxied netlink sockets) keep working;
# crash_resume_checks: after SIGKILL the holder keeps the sessions, their
# trapped calls wait and a restarted uoad answers them; with no uoad for the
# grace period they fail.

# Invariant 5 for memory reads: S2 binds with a sockaddr mapped from a file
# of a FUSE server that never answers a read (uoa-stallfs --file). Each such
# bind blocks the uoad worker reading it; the watchdog leaves the worker to
# S2 and starts another, so S1's binds are served meanwhile (p99 below
# 5 ms); past 4 stalled workers S2's reads fail with EFAULT at once. Both
# slices are shared, so their binds trap under either engine.
memstall_check() {
        local spid i pids=() waiting=0 efault=0 p99 out ended=0
        echo "# a sockaddr in memory the slice's FUSE file system never reads (S2)"
        mkdir -p "$T/stallf"
        "$T/bin/uoa-stallfs" --file "$T/stallf" >"$T/stallf.log" 2>&1 </dev/null &
        spid=$!
        UOAT_PIDS+=("$spid")
        for i in $(seq 50); do grep -q ready "$T/stallf.log" 2>/dev/null && break; sleep 0.1; done
        for i in 1 2 3 4 5 6; do
                # Static: no shim, which would read the address itself to explain an error.
                uoat_slice_argv "$US2" "$T/bin/uoa-attack-static" stall-sockaddr "$T/stallf/f$i"
                timeout -k 2 30 "${UOAT_CMD[@]}" >"$T/memstall.$i" 2>&1 </dev/null &
                pids+=($!)
                UOAT_PIDS+=($!)
                sleep 0.2
        done
        sleep 0.5
        for i in 1 2 3 4 5 6; do
                out=$(cat "$T/memstall.$i")
                [ -z "$out" ] && waiting=$((waiting + 1))
                [ "$out" = "err EFAULT" ] && efault=$((efault + 1))
        done
        uoat_check "S2's 6 binds with a sockaddr its FUSE file never delivers: 4 wait, 2 get EFAULT at once" \
                "$([ "$waiting" = 4 ] && [ "$efault" = 2 ]; echo $?)" "4 waiting, 2 EFAULT" \
                "$waiting waiting, $efault EFAULT ($(cat "$T"/memstall.* | tr '\n' '|'))"
        uoat_slice_argv "$US1" "$T/bin/sockcalls" bindlat 0.0.0.0 500 1
        UOAT_TIMEOUT=20 uoat_capture "${UOAT_CMD[@]}"
        p99=$(awk '/^bindlat/ {print $5}' <<<"$OUT")
        uoat_check "meanwhile S1's bind p99 stays below 5 ms ($OUT)" \
                "$([ -n "$p99" ] && [ "$p99" -lt 5000 ]; echo $?)" "p99 < 5000 us" "$(uoat_got)"
        uoat_check "uoad logs the stalled calls as S2's" \
                "$(grep -q "slice $(id -u "$US2"): a call of its has taken over" "$T/uoad.log"; echo $?)" \
                "a log line" "none"
        # A re-exec now would lose S2's stalled calls and wait for them: refused.
        kill -USR2 "$UOAT_UOAD_PID"
        uoad_log_wait "not re-executing, still serving: .*stalled"
        uoat_check "SIGUSR2 while S2's calls are stalled: refused, uoad says why and serves on" \
                "$(uoad_log_wait "not re-executing, still serving: .*stalled" && uoat_uoad_alive; echo $?)" \
                "a 'not re-executing' line naming the stalled calls" "$(tail -n 2 "$T/uoad.log" | tr '\n' '|')"
        kill -TERM "$spid" 2>/dev/null
        wait "$spid"
        for i in "${pids[@]}"; do wait "$i" && ended=$((ended + 1)); done
        for i in 1 2 3 4 5 6; do [[ $(cat "$T/memstall.$i") == err* ]] && ended=$((ended + 1)); done
        uoat_check "once the file system is gone, the stalled binds end with an error" \
                "$([ "$ended" = 6 ]; echo $?)" "6 errors" "$(cat "$T"/memstall.* | tr '\n' '|')"
        uoat_slice "$US2" bind 4 tcp 0.0.0.0 22
        uoat_expect "then S2's binds are served again" "ok 10.77.0.20 11022"
}

# bg_slice OUT USER CMD...: CMD under uoa-run as USER in the background,
# stdout in OUT.out, stderr in OUT.err; its pid in BG_PID.
bg_slice() {
        local out=$1 user=$2
        shift 2
        uoat_slice_argv "$user" "$@"
        timeout -k 2 20 "${UOAT_CMD[@]}" >"$out.out" 2>"$out.err" </dev/null &
        BG_PID=$!
        UOAT_PIDS+=("$BG_PID")
}

# bg_routes OUT PREFIX DELAY: A's ip -batch, its netlink socket opened now,
# adding and showing PREFIX after DELAY s.
bg_routes() {
        uoat_slice_argv "$UA" ip -batch -
        { sleep "$3"; echo "route add $2 dev veth0"; echo "route show $2"; } |
                timeout -k 2 20 "${UOAT_CMD[@]}" >"$1.out" 2>"$1.err" &
        BG_PID=$!
        UOAT_PIDS+=("$BG_PID")
}

# uoad_log_wait PATTERN: until uoad's log has a line matching PATTERN (10 s).
uoad_log_wait() {
        local i
        for i in $(seq 100); do
                grep -q "$1" "$T/uoad.log" 2>/dev/null && return 0
                sleep 0.1
        done
        return 1
}

# Replace the binary at uoad's path as a package upgrade does (a new inode
# renamed into place).
uoad_binary_put() { # SOURCE
        cp "$1" "$T/bin/uoad.new" && chmod 755 "$T/bin/uoad.new" && mv -f "$T/bin/uoad.new" "$T/bin/uoad"
}

# SIGUSR2 when the binary at the path cannot start: the old image stays.
upgrade_refused_check() {
        local before
        printf '#!/bin/sh\nexit 1\n' >"$T/uoad.broken"
        uoad_binary_put "$T/uoad.broken"
        before=$(grep -c "not re-executing" "$T/uoad.log")
        kill -USR2 "$UOAT_UOAD_PID"
        for i in $(seq 100); do
                [ "$(grep -c "not re-executing" "$T/uoad.log")" -gt "$before" ] && break
                sleep 0.1
        done
        uoat_check "SIGUSR2 with a binary that cannot start: uoad says why and stays" \
                "$([ "$(grep -c "not re-executing" "$T/uoad.log")" -gt "$before" ] && uoat_uoad_alive; echo $?)" \
                "a 'not re-executing' line, same pid" "$(tail -n 2 "$T/uoad.log" | tr '\n' '|')"
        uoat_slice "$US1" bind 4 tcp 0.0.0.0 0
        uoat_expect "and goes on serving" "ok 10.77.0.20 {10000-10999}"
        uoad_binary_put "$BUILD/uoad"
}

# Item 1 of the restart contract: a session started before SIGUSR2 binds and
# routes afterwards; a bind flood across the re-exec loses no call; the
# policy (with a live edit), the counters and the pid stay.
upgrade_checks() {
        local sess nl conn flood i st binds_before binds_after extra="$US1 address 10.77.0.31"
        echo "# SIGUSR2: re-executing uoad in place"
        # Run uoad from a copy, so that the test can replace the binary at its path.
        kill -TERM "$UOAT_UOAD_PID"
        wait "$UOAT_UOAD_PID" 2>/dev/null
        cp "$BUILD/uoad" "$T/bin/uoad"
        : >"$T/uoad.log"
        uoat_spawn "$H" "$T/uoad.log" "$T/bin/uoad" --engine "$UOA_ENGINE" --config "$T/uoa.conf" --socket "$SOCK"
        UOAT_UOAD_PID=$UOAT_LAST_PID
        uoad_wait_serving
        uoat_check "uoad serves from a copy of its binary" "$?" "serving" "$(tail -n 3 "$T/uoad.log" | tr '\n' '|')"
        upgrade_refused_check
        uoamap_live add "$extra"
        binds_before=$(uoat_bind_count "$US1")
        # A's session, started now: it binds, listens and routes after the re-exec.
        bg_slice "$T/sess" "$UA" /bin/sh -c "sleep 2.5; $T/bin/uoa-probe bind 4 tcp 0.0.0.0 8083; $T/bin/uoa-probe listen 4"
        sess=$BG_PID
        # A's netlink socket, opened now (ip -batch keeps one), used after.
        bg_routes "$T/nl" 10.99.7.0/24 2.5
        nl=$BG_PID
        # A control connection opened now, whose request comes after the re-exec.
        ip netns exec "$H" /usr/bin/python3 - "$SOCK" >"$T/conn.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
time.sleep(2.5)
s.send(b"status")
s.settimeout(5)
print(s.recv(65536).split(b"\n")[0].decode(errors="replace"))
PY
        conn=$!
        # S1 binds without pause across the re-exec: no call may fail.
        uoat_slice_argv "$US1" "$T/bin/sockcalls" bind 0.0.0.0 2000 40
        timeout -k 2 30 "${UOAT_CMD[@]}" >"$T/flood.out" 2>&1 </dev/null &
        flood=$!
        UOAT_PIDS+=("$conn" "$flood")
        sleep 1
        kill -USR2 "$UOAT_UOAD_PID"
        uoad_log_wait "resumed:"
        st=$?
        uoat_check "SIGUSR2: uoad re-executes in place (same pid) and resumes its sessions" \
                "$([ "$st" = 0 ] && uoat_uoad_alive; echo $?)" "a 'resumed:' line, same pid" \
                "$(grep -E "resum|re-exec|error" "$T/uoad.log" | tail -n 4 | tr '\n' '|')"
        wait "$sess"
        RC=$? OUT=$(cat "$T/sess.out") ERR=$(cat "$T/sess.err") UOAT_SKIPPED=0
        uoat_expect "a session started before SIGUSR2 binds and listens after it" \
                "ok 10.77.0.11 8083"$'\n'"ok 10.77.0.11 {1-65535}"
        wait "$nl"
        RC=$? OUT=$(cat "$T/nl.out") ERR=$(cat "$T/nl.err") UOAT_SKIPPED=0
        uoat_check "a netlink socket opened before SIGUSR2 routes after it (A's table, shown as main)" \
                "$([ "$RC" = 0 ] && [[ $OUT == "10.99.7.0/24 dev veth0 "* ]] &&
                        ip -n "$H" route show table 100 | grep -q "^10.99.7.0/24 dev veth0"; echo $?)" \
                "the route, in table 100" "$(uoat_got)"
        wait "$conn"
        RC=$? OUT=$(cat "$T/conn.out") ERR="" UOAT_SKIPPED=0
        uoat_expect "a control connection opened before SIGUSR2 is answered after it" "ok"
        wait "$flood"
        RC=$? OUT=$(cat "$T/flood.out") ERR="" UOAT_SKIPPED=0
        uoat_expect "S1's 80000 binds across the re-exec: none fails" \
                "bind median * us min * max * (40 rounds of 2000)"
        uoamap_live show "$US1"
        uoat_check "the live-added policy line survives the re-exec" \
                "$([[ $OUT == *"10.77.0.31"* ]]; echo $?)" "10.77.0.31 in the policy" "$(uoat_got)"
        binds_after=$(uoat_bind_count "$US1")
        uoat_check "the counters survive the re-exec (S1's binds: before + the flood's)" \
                "$([ "${binds_after:-0}" -ge $((${binds_before:-0} + 80000)) ]; echo $?)" \
                ">= $((${binds_before:-0} + 80000))" "${binds_after:-none}"
        uoat_slice "$UA" bind 4 tcp 0.0.0.0 80
        uoat_expect "new sessions are served by the new image" "ok 10.77.0.11 80"
        kill -USR2 "$UOAT_UOAD_PID"
        for i in $(seq 100); do [ "$(grep -c "^uoad: resumed:" "$T/uoad.log")" -ge 2 ] && break; sleep 0.1; done
        uoat_slice "$US1" bind 4 tcp 0.0.0.0 0
        uoat_expect "a second SIGUSR2 re-executes again, and serves" "ok 10.77.0.20 {10000-10999}"
        ip -n "$H" route del 10.99.7.0/24 table 100 2>/dev/null
        uoamap_live del "$extra"
}

# Item 2 of the restart contract, with uoad's own holder (uoad/holder.c): a
# session and a netlink socket opened before SIGKILL, whose calls come while
# no uoad runs, are served by the uoad started next; with no uoad for the
# grace period (--grace 2 here) the calls fail as without a holder.
crash_resume_checks() {
        local sess nl then="" i
        echo "# uoad killed with SIGKILL, restarted: the holder kept the sessions"
        uoat_bpf && then="; $T/bin/uoa-probe listen 4"
        : >"$T/uoad.log"
        uoat_uoad_spawn "$H" "$T/uoad.log" --config "$T/uoa.conf" --socket "$SOCK"
        UOAT_UOAD_PID=$UOAT_LAST_PID
        uoad_wait_serving
        bg_slice "$T/csess" "$UA" /bin/sh -c "sleep 1.5; $T/bin/uoa-probe bind 4 tcp 0.0.0.0 8084$then"
        sess=$BG_PID
        bg_routes "$T/cnl" 10.99.8.0/24 1.5
        nl=$BG_PID
        sleep 0.7
        kill -KILL "$UOAT_UOAD_PID"
        wait "$UOAT_UOAD_PID" 2>/dev/null
        sleep 2.5 # the session's calls come meanwhile, and wait
        uoat_check "while no uoad runs, the session's trapped calls wait" \
                "$(uoat_pid_alive "$sess" && [ ! -s "$T/csess.out" ] || [ "$(head -c 2 "$T/csess.out")" = ok ]; echo $?)" \
                "waiting (or served without a trap)" "$(cat "$T/csess.out")"
        : >"$T/uoad.log"
        uoat_uoad_spawn "$H" "$T/uoad.log" --config "$T/uoa.conf" --socket "$SOCK"
        UOAT_UOAD_PID=$UOAT_LAST_PID
        uoad_wait_serving
        uoat_check "the restarted uoad takes the held sessions over" \
                "$(grep -aq "resumed after a crash: [1-9]" "$T/uoad.log"; echo $?)" "a 'resumed after a crash' line" \
                "$(grep -aE "holder|resumed" "$T/uoad.log" | tr '\n' '|')"
        wait "$sess"
        RC=$? OUT=$(cat "$T/csess.out") ERR=$(cat "$T/csess.err") UOAT_SKIPPED=0
        if uoat_bpf; then
                uoat_expect "a session started before SIGKILL binds and listens after the restart" \
                        "ok 10.77.0.11 8084"$'\n'"ok 10.77.0.11 {1-65535}"
        else
                uoat_expect "a session started before SIGKILL binds after the restart" "ok 10.77.0.11 8084"
        fi
        wait "$nl"
        RC=$? OUT=$(cat "$T/cnl.out") ERR=$(cat "$T/cnl.err") UOAT_SKIPPED=0
        uoat_check "a netlink socket opened before SIGKILL routes after the restart" \
                "$([ "$RC" = 0 ] && [[ $OUT == "10.99.8.0/24 dev veth0 "* ]]; echo $?)" "the route" "$(uoat_got)"
        ip -n "$H" route del 10.99.8.0/24 table 100 2>/dev/null
        echo "# uoad killed with SIGKILL, not restarted within --grace 2"
        kill -TERM "$UOAT_UOAD_PID"
        wait "$UOAT_UOAD_PID" 2>/dev/null
        : >"$T/uoad.log"
        uoat_uoad_spawn "$H" "$T/uoad.log" --config "$T/uoa.conf" --socket "$SOCK" --grace 2
        UOAT_UOAD_PID=$UOAT_LAST_PID
        uoad_wait_serving
        bg_slice "$T/csess" "$UA" /bin/sh -c "sleep 3.5; exec $T/bin/uoa-probe listen 4"
        sess=$BG_PID
        sleep 0.7
        kill -KILL "$UOAT_UOAD_PID"
        wait "$UOAT_UOAD_PID" 2>/dev/null
        wait "$sess"
        RC=$? OUT=$(cat "$T/csess.out") ERR=$(cat "$T/csess.err") UOAT_SKIPPED=0
        uoat_expect "past the grace period with no uoad, a trapped call fails" "err *"
        : >"$T/uoad.log"
        uoat_uoad_spawn "$H" "$T/uoad.log" --config "$T/uoa.conf" --socket "$SOCK"
        UOAT_UOAD_PID=$UOAT_LAST_PID
        uoad_wait_serving
        uoat_slice "$UA" bind 4 tcp 0.0.0.0 80
        uoat_expect "then a new uoad serves new sessions" "ok 10.77.0.11 80"
        kill -TERM "$UOAT_UOAD_PID"
        for i in $(seq 50); do uoat_uoad_alive || break; sleep 0.1; done
}
