#!/bin/sh
# A first container: a busybox root filesystem, husk's default config, and a
# look from inside at what the kernel shows it (run by `make demo`, as root).
set -eu
husk=${1:-build/husk}
demo=build/demo
root="$demo/state"

[ "$(id -u)" = 0 ] || { echo "demo: run as root (make demo)" >&2; exit 1; }
[ -d "$demo/rootfs/bin" ] || tests/mkrootfs.sh "$demo/rootfs" >/dev/null
rm -f "$demo/config.json"
"$husk" spec --bundle "$demo"

cat > "$demo/rootfs/demo-inside.sh" <<'SH'
echo "inside:  my pid is $$, my hostname is $(hostname)"
echo "inside:  processes I can see:"
ps -o pid,comm
echo "inside:  network interfaces: $(ls /sys/class/net)"
for ns in pid mnt uts ipc net cgroup user; do echo "ns $ns $(readlink /proc/self/ns/$ns)"; done
SH

# The default config asks for a terminal (as runc's does); the demo runs a
# script instead of an interactive shell.
/usr/bin/python3 - "$demo/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["hostname"] = "husk-demo"
c["process"]["args"] = ["sh", "/demo-inside.sh"]
json.dump(c, open(path, "w"), indent=1)
PY

echo "host:    hostname is $(hostname)"
id="demo-$$"
"$husk" --root "$root" run --bundle "$demo" "$id" > "$demo/out.txt"
grep -v '^ns ' "$demo/out.txt"
echo
printf '%-8s %-22s %-22s %s\n' namespace host container isolated
grep '^ns ' "$demo/out.txt" | while read -r _ ns link; do
	host=$(readlink "/proc/self/ns/$ns")
	[ "$host" = "$link" ] && iso=no || iso=yes
	printf '%-8s %-22s %-22s %s\n' "$ns" "$host" "$link" "$iso"
done
rm -f "$demo/out.txt"
