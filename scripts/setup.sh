#!/bin/sh
# Install husk's dependencies from Debian's packages, only when missing:
# safe to run again and again. `setup.sh build`: what compiling needs
# (make all, unit, lint, fuzz-build; make calls it before any compile);
# `setup.sh test`: what the tests run (runtimes and engines to compare
# with, the VM, network tools; make calls it before integration tests);
# no argument: both.
set -eu

BUILD_PKGS="python3-minimal gcc make pkg-config libc6-dev libjson-c-dev libseccomp-dev libcmocka-dev clang-format
libarchive-dev nettle-dev zlib1g-dev libzstd-dev liblzma-dev libbz2-dev liblz4-dev libmnl-dev
libnftables-dev clang libclang-rt-14-dev libcurl4-openssl-dev libdbus-1-dev musl-tools"
TEST_PKGS="python3-pytest busybox-static iproute2 procps util-linux crun runc hyperfine strace uidmap
libcap2-bin python3-nftables qemu-system-x86 kmod cpio xz-utils binutils
podman passt conmon catatonit netavark aardvark-dns iptables containerd docker.io
docker-registry skopeo apache2-utils openssl protobuf-compiler protobuf-compiler-grpc python3-grpcio
python3-protobuf containernetworking-plugins"

case "${1:-all}" in
build) PKGS=$BUILD_PKGS ;;
test) PKGS=$TEST_PKGS ;;
all) PKGS="$BUILD_PKGS $TEST_PKGS" ;;
*)
	echo "usage: $0 [build|test|all]" >&2
	exit 2
	;;
esac

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
# containerd and docker.io ship services: their tests start private daemons,
# so keep the packages from starting the host-wide ones (policy-rc.d(8)),
# unless the machine has a policy of its own.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# made by husk scripts/setup.sh during apt-get install\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
fi
# another installer may hold the dpkg lock for a while: wait for it
# shellcheck disable=SC2086
apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends $missing >&2
