#!/usr/bin/env bash
# tools/install-deps.sh: install the Debian 12 packages uoa needs to build,
# test and run its demonstration. Idempotent; skips apt when all are present.
set -euo pipefail

pkgs=(
  # build
  make gcc libc6-dev pkg-config libseccomp-dev libmnl-dev libcap-dev libunwind-dev libnftables-dev
  # tests
  libcriterion-dev clang libclang-rt-14-dev iproute2 iputils-ping nftables util-linux passwd procps psmisc socat python3
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
