#!/bin/sh
# Build the VM's kernel and initramfs from Debian packages into OUT (tests/vm/run
# calls this when OUT/stamp is missing or stale, under a lock):
#   OUT/kernel.img     the kernel of linux-image-amd64 (Debian 12: 6.1),
#                      uncompressed when it can be (see unpack_kernel)
#   OUT/initramfs.gz   busybox-static, tests/vm/init (and vm-run, systemd mode's
#                      runner), and the kernel package's
#                      virtio, 9p and overlay modules with their dependencies
#   OUT/kernel         "package version" of the kernel used
#   OUT/modules/KVER   the kernel package's whole module tree, when it was
#                      downloaded (tests/vm/run --systemd shares it into the
#                      VM at /lib/modules/KVER; an installed package's is
#                      /lib/modules/KVER on the host already)
# Nothing is mounted or installed on the host: an installed linux-image-amd64
# is used as it is, otherwise its kernel package is fetched with
# `apt-get download` and unpacked in a scratch directory under OUT.
# Usage: tests/vm/mkimage.sh OUT
set -eu
out=${1:?usage: mkimage.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Modules loaded by the init, in this order, each after its dependencies.
MODULES="virtio_pci virtio_console 9pnet_virtio 9p overlay"

say() { echo "mkimage: $*" >&2; }
die() { say "$*"; exit 1; }

for tool in dpkg-deb depmod modprobe cpio gzip; do
	command -v "$tool" >/dev/null || die "$tool missing (scripts/setup.sh installs it)"
done
[ -x /bin/busybox ] || die "/bin/busybox missing (apt-get install busybox-static)"
/bin/busybox --list | grep -qx insmod || die "/bin/busybox has no insmod (need busybox-static)"

work=$(mktemp -d "$out/.mkimage.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# The kernel package linux-image-amd64 points at (linux-image-<kver>).
kernel_package() {
	if dpkg-query -W -f='${Status}' linux-image-amd64 2>/dev/null | grep -q "install ok installed"; then
		dpkg-query -W -f='${Depends}' linux-image-amd64
	else
		apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: //p'
	fi | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1
}

# Under TCG, the bzImage's own decompressor takes 4 s of every boot. qemu
# boots an uncompressed vmlinux directly through its PVH entry point (an ELF
# note of type 0x12, XEN_ELFNOTE_PHYS32_ENTRY): decompress once, here, and
# keep the bzImage if anything about that does not work out.
unpack_kernel() { # BZIMAGE OUT
	off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" | head -n1 | cut -d: -f1)
	if [ -n "$off" ] && command -v xz >/dev/null &&
		tail -c +$((off + 1)) "$1" | xz -dc --single-stream >"$2.elf" 2>/dev/null &&
		readelf -n "$2.elf" 2>/dev/null | grep -q 'note type: (0x00000012)'; then
		mv "$2.elf" "$2"
	else
		say "cannot unpack $1 to a PVH vmlinux; booting the bzImage (4 s slower)"
		rm -f "$2.elf"
		cp "$1" "$2"
	fi
}

kpkg=$(kernel_package)
if [ -z "$kpkg" ]; then
	say "linux-image-amd64 unknown to apt; apt-get update"
	apt-get update -q -o DPkg::Lock::Timeout=300 >&2
	kpkg=$(kernel_package)
fi
[ -n "$kpkg" ] || die "cannot tell which kernel package linux-image-amd64 depends on"
kver=${kpkg#linux-image-}

if dpkg-query -W -f='${Status}' "$kpkg" 2>/dev/null | grep -q "install ok installed" &&
	[ -f "/boot/vmlinuz-$kver" ] && [ -f "/lib/modules/$kver/modules.dep" ]; then
	src=
	kpkg_version=$(dpkg-query -W -f='${Version}' "$kpkg")
	say "using the installed $kpkg"
else
	say "downloading $kpkg"
	# the deb lands in a directory _apt cannot write to: download as root,
	# without the warning saying so
	get() { (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$kpkg" >&2); }
	get || {
		say "apt-get download failed; apt-get update and again"
		apt-get update -q -o DPkg::Lock::Timeout=300 >&2
		get
	}
	say "unpacking $kpkg"
	mkdir "$work/pkg"
	dpkg-deb -x "$work"/"$kpkg"_*.deb "$work/pkg"
	kpkg_version=$(dpkg-deb -f "$work"/"$kpkg"_*.deb Version)
	rm -f "$work"/"$kpkg"_*.deb
	src=$work/pkg
	depmod -b "$src" "$kver"
fi
# The initramfs tree.
tree=$work/tree
mkdir -p "$tree/bin" "$tree/dev" "$tree/proc" "$tree/sys" "$tree/lib/modules" \
	"$tree/lower" "$tree/rw" "$tree/ctl" "$tree/newroot"
cp /bin/busybox "$tree/bin/busybox"
ln -s busybox "$tree/bin/sh"
cp "$here/init" "$tree/init"
cp "$here/vm-run" "$tree/vm-run"
chmod 0755 "$tree/init" "$tree/vm-run"

: >"$tree/modules"
for m in $MODULES; do
	modprobe -d "${src:-/}" -S "$kver" --show-depends "$m" >>"$work/deps" ||
		die "module $m not found for $kver"
done
while read -r verb path _; do
	case $verb in
	insmod)
		name=$(basename "$path")
		grep -qx "$name" "$tree/modules" && continue
		cp "$path" "$tree/lib/modules/$name"
		echo "$name" >>"$tree/modules"
		;;
	builtin) ;;
	*) die "unexpected modprobe output: $verb $path" ;;
	esac
done <"$work/deps"

(cd "$tree" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$work/initramfs.gz"
unpack_kernel "${src:-}/boot/vmlinuz-$kver" "$work/kernel.img"
echo "$kpkg $kpkg_version" >"$work/kernel"

mv -f "$work/kernel.img" "$out/kernel.img"
mv -f "$work/initramfs.gz" "$out/initramfs.gz"
mv -f "$work/kernel" "$out/kernel"
rm -rf "$out/modules"
if [ -n "$src" ]; then
	mkdir -p "$work/modules"
	mv "$src/lib/modules/$kver" "$work/modules/$kver"
	mv "$work/modules" "$out/modules"
fi
say "built $out/kernel.img and $out/initramfs.gz ($kpkg $kpkg_version; modules: $(tr '\n' ' ' <"$tree/modules"))"
