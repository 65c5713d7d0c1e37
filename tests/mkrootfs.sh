#!/bin/sh
# Build a minimal busybox root filesystem in DIR from Debian's busybox-static.
# Usage: tests/mkrootfs.sh DIR
set -eu
dir=${1:?usage: mkrootfs.sh DIR}
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkrootfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
mkdir -p bin sbin etc proc sys dev tmp root home usr/bin usr/sbin var/tmp
cp "$bb" bin/busybox
# every applet a relative link to busybox, made by one process: a fork of ln
# per applet (~400) takes a minute under emulation (tests/vm)
"$bb" --list | /usr/bin/python3 -c '
import os, sys
for applet in sys.stdin.read().split():
    link = os.path.join("bin", applet)
    if not os.path.lexists(link):
        os.symlink("busybox", link)
'
chmod 1777 tmp var/tmp
cat > etc/passwd <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > etc/group <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
G
echo busybox > etc/hostname
