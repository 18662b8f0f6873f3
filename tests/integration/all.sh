#!/bin/bash
# tests/integration/all.sh BUILD_DIR: the integration suites one after the
# other (run.sh: the socket, route and launcher contract; wildcard.sh: a
# slice's wildcard on all of its addresses and loopback; vini.sh: the VINI
# demonstration end to end; shape.sh: per-slice bandwidth, with iperf3),
# under each engine of $UOA_ENGINES (default: bpf then seccomp; both are
# products), each suite's summary, then the total as
# the very last line, "N passed, M failed". Exits non-zero if anything failed.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUITES=(run.sh wildcard.sh vini.sh shape.sh)
read -r -a ENGINES <<<"${UOA_ENGINES:-bpf seccomp}"

if [ $# -ne 1 ]; then
        echo "usage: $0 BUILD_DIR" >&2
        exit 2
fi

# A Ctrl-C reaches the running suite, which removes its world; then stop.
INTERRUPTED=0
trap 'INTERRUPTED=1' INT TERM

total_pass=0 total_fail=0
summaries=()
for engine in "${ENGINES[@]}"; do for suite in "${SUITES[@]}"; do
        echo "# ==== $suite, uoad --engine $engine"
        log=$(mktemp /tmp/uoa-integration.XXXXXX) || exit 1
        # tee ignores SIGINT so that the suite's clean-up never writes into a
        # closed pipe (SIGPIPE would cut the clean-up short).
        UOA_ENGINE=$engine bash "$HERE/$suite" "$1" | (trap '' INT TERM; exec tee "$log")
        st=${PIPESTATUS[0]}
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
        rm -f "$log"
        if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
                pass=${BASH_REMATCH[1]} fail=${BASH_REMATCH[2]}
                # A suite that failed without counting it still failed.
                [ "$st" != 0 ] && [ "$fail" = 0 ] && fail=1 && line+=" (but exit $st: counted as 1 failure)"
        else
                pass=0 fail=1 line="no summary line, exit $st (counted as 1 failure)"
        fi
        total_pass=$((total_pass + pass)) total_fail=$((total_fail + fail))
        summaries+=("$suite ($engine): $line")
        [ "$INTERRUPTED" = 1 ] && break 2
done; done

echo
for s in "${summaries[@]}"; do echo "# $s"; done
[ "$INTERRUPTED" = 1 ] && echo "# interrupted: the remaining suites did not run" && total_fail=$((total_fail + 1))
printf '%d passed, %d failed\n' "$total_pass" "$total_fail"
[ "$total_fail" = 0 ]
