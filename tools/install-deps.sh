#!/usr/bin/env bash
# tools/install-deps.sh: install the Debian 12 packages uoa needs to build,
# test and run its demonstration. Idempotent; skips apt when all are present.
set -euo pipefail

pkgs=(
  # build
  make gcc libc6-dev pkg-config libseccomp-dev libmnl-dev libcap-dev libunwind-dev libnftables-dev
  # the kernel engine: BPF programs (clang), their skeleton (bpftool), libbpf
  libbpf-dev bpftool
  # make bench draws its plot
  gnuplot-nox
  # tests
  libcriterion-dev clang libclang-rt-14-dev iproute2 iputils-ping nftables util-linux passwd procps psmisc socat python3
  # real clients of the demonstration and its tests
  bird2 frr iperf3
  # make install-check renders the man pages
  man-db
  # make deb builds the Debian package; make deb-check runs lintian on it
  debhelper dpkg-dev lintian
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# bird2 and frr ship host-wide services; uoa runs them per slice under
# uoa-run only. Keep apt from starting them on the host (policy-rc.d), and
# keep the ones we install from starting at boot.
daemons=()
for p in "${missing[@]}"; do
  case "$p" in bird2) daemons+=(bird) ;; frr) daemons+=(frr) ;; esac
done
cleanup_policy=0
if [ ${#daemons[@]} -gt 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  cleanup_policy=1
fi
trap '[ $cleanup_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
if [ ${#daemons[@]} -gt 0 ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now "${daemons[@]}" >/dev/null 2>&1 || true
fi
