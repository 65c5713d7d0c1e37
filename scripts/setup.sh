#!/bin/sh
# Install every build and test dependency of husk from Debian's packages,
# only when missing: safe to run again and again (make calls it).
set -eu

PKGS="gcc make pkg-config libc6-dev libjson-c-dev libseccomp-dev libcmocka-dev python3-pytest
busybox-static iproute2 procps util-linux crun runc hyperfine clang-format
clang libclang-rt-14-dev uidmap libcap2-bin libmnl-dev libnftables-dev python3-nftables
qemu-system-x86 kmod cpio xz-utils binutils"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "setup: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
