#!/usr/bin/env bash
# tools/deb-check.sh CHANGES: the package `make deb` built, checked the way a
# node gets it. lintian reports no error or warning (debian/uoa.lintian-
# overrides justifies the ones that must stay); then dpkg installs the .deb
# into a scratch root (--root, scripts run chrootless with DPKG_ROOT, so the
# host is never touched): every file in place, uoa-run set-user-ID root,
# uoa.conf a conffile, the unit enabled and skipped until a policy exists,
# the binaries' libraries and the shim's path resolvable; a purge removes it
# all. Ends with "deb-check: N passed, M failed".
set -uo pipefail

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
        echo "usage: $0 CHANGES" >&2
        exit 2
fi
changes=$1
deb=${changes%.changes}.deb
pass=0 fail=0
check() { # NAME STATUS [DETAIL]
        if [ "$2" = 0 ]; then
                echo "ok - $1"
                pass=$((pass + 1))
        else
                echo "FAIL - $1${3:+ ($3)}"
                fail=$((fail + 1))
        fi
}

# ---- lintian -----------------------------------------------------------------------
tags=$(lintian --pedantic "$changes" 2>&1 | grep -v '^running with root privileges')
bad=$(grep -E '^[EW]: ' <<<"$tags")
check "lintian: no error, no warning (pedantic; overrides justified in debian/)" \
        "$([ -z "$bad" ]; echo $?)" "$(tr '\n' '|' <<<"$bad")"
[ -n "$tags" ] && sed 's/^/# lintian: /' <<<"$tags"

# ---- install into a scratch root ---------------------------------------------------
R=$(mktemp -d /tmp/uoa-deb-root.XXXXXX) || exit 1
trap 'rm -rf "$R"' EXIT
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
dpkg_root() { dpkg --root="$R" --force-script-chrootless --force-depends --log=/dev/null "$@"; }
host_wants=/etc/systemd/system/multi-user.target.wants/uoad.service
host_before=$(ls -l "$host_wants" 2>&1)

out=$(dpkg_root -i "$deb" 2>&1)
check "dpkg --root installs the package" $? "$(tail -n 3 <<<"$out" | tr '\n' '|')"

missing=""
for f in usr/sbin/uoad usr/bin/uoa-run usr/bin/uoamap usr/bin/uoa-shell \
         "usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/uoa/libuoa-preload.so" \
         lib/systemd/system/uoad.service etc/uoa/uoa.conf \
         usr/share/man/man1/uoa-run.1.gz usr/share/man/man1/uoa-shell.1.gz \
         usr/share/man/man5/uoa.conf.5.gz usr/share/man/man8/uoad.8.gz usr/share/man/man8/uoamap.8.gz \
         usr/share/doc/uoa/copyright usr/share/doc/uoa/changelog.gz; do
        [ -f "$R/$f" ] || missing+=" $f"
done
[ -d "$R/etc/uoa/uoa.conf.d" ] || missing+=" etc/uoa/uoa.conf.d/"
check "every file in place (binaries, shim, unit, man pages, uoa.conf, uoa.conf.d/)" \
        "$([ -z "$missing" ]; echo $?)" "missing:$missing"

mode=$(stat -c '%a %U:%G' "$R/usr/bin/uoa-run")
check "uoa-run is set-user-ID root (4755 root:root)" "$([ "$mode" = "4755 root:root" ]; echo $?)" "$mode"
mode=$(stat -c '%a %U:%G' "$R/usr/sbin/uoad")
check "uoad is 0755 root:root, not set-user-ID" "$([ "$mode" = "755 root:root" ]; echo $?)" "$mode"

conffiles=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Conffiles}' uoa 2>&1)
check "/etc/uoa/uoa.conf is a conffile" "$(grep -q '^ /etc/uoa/uoa.conf ' <<<"$conffiles"; echo $?)" "$conffiles"

link=$(readlink "$R/etc/systemd/system/multi-user.target.wants/uoad.service")
check "the unit is enabled the Debian way (multi-user.target.wants)" \
        "$([ "$link" = /lib/systemd/system/uoad.service ]; echo $?)" "link '$link'"
check "the host's systemd configuration is untouched" \
        "$([ "$(ls -l "$host_wants" 2>&1)" = "$host_before" ]; echo $?)"

# The unit's programs exist in the root; its ExecCondition, run against the
# root's /etc/uoa, skips the start while the policy is the shipped comments.
unit=$R/lib/systemd/system/uoad.service
bad=""
for p in $(sed -n 's/^Exec[A-Za-z]*=\([^ ]*\).*/\1/p' "$unit"); do
        [ "$p" = /bin/sh ] || [ "$p" = /bin/kill ] || [ -x "$R$p" ] || bad+=" $p"
done
check "the unit runs the package's own binaries" "$([ -z "$bad" ]; echo $?)" "not in the package:$bad"
cond=$(sed -n "s/^ExecCondition=\/bin\/sh -c '\(.*\)'$/\1/p" "$unit" | sed 's/\$\$/$/g; s|/etc/uoa|'"$R"'/etc/uoa|g')
sh -c "$cond"
st=$?
check "ExecCondition skips the start while uoa.conf holds only comments" \
        "$([ -n "$cond" ] && [ $st -ge 1 ] && [ $st -le 254 ]; echo $?)" "exit $st of '$cond'"
echo "0 address 192.0.2.1" >"$R/etc/uoa/uoa.conf.d/10-test.conf"
sh -c "$cond"
check "ExecCondition lets it start once a drop-in assigns something" $?
rm "$R/etc/uoa/uoa.conf.d/10-test.conf"

out=$("$R/usr/bin/uoamap" check "$R/etc/uoa/uoa.conf" 2>&1)
check "the installed uoamap accepts the shipped uoa.conf (no slices)" \
        "$([[ $out == *": ok, 0 slices" ]]; echo $?)" "$out"
bad=$(ldd "$R/usr/sbin/uoad" "$R/usr/bin/uoa-run" "$R/usr/bin/uoamap" 2>&1 | grep 'not found')
check "the binaries' libraries resolve" "$([ -z "$bad" ]; echo $?)" "$bad"
shim=$(strings "$R/usr/bin/uoa-run" | grep -m1 '^/usr/lib/.*/uoa$')
check "uoa-run looks for the shim where the package puts it ($shim)" \
        "$([ -n "$shim" ] && [ -f "$R$shim/libuoa-preload.so" ]; echo $?)"
unmet=""
for d in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*//; s/ //g'); do
        dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "ok installed" || unmet+=" $d"
done
check "Depends (from \${shlibs:Depends}) are installed packages here" "$([ -z "$unmet" ]; echo $?)" "unmet:$unmet"

out=$(dpkg_root -P uoa 2>&1)
left=$(cd "$R" && find . -path ./var/lib/dpkg -prune -o \( -type f -o -type l \) -print)
check "dpkg --purge removes every file and the enablement" "$([ -z "$left" ]; echo $?)" "$(tr '\n' ' ' <<<"$left$out")"

echo "deb-check: $pass passed, $fail failed"
[ "$fail" = 0 ]
