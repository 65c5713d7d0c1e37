#!/bin/bash
# Run husk's libFuzzer targets (built by `make fuzz-build` into build-fuzz/).
#
#   tests/fuzz/run.sh smoke SECONDS      replay regressions/, then fuzz each
#                                        target SECONDS (make fuzz-smoke: 20)
#   tests/fuzz/run.sh campaign SECONDS   the same, then write the figures to
#                                        build-fuzz/summary.txt (make fuzz)
#   tests/fuzz/run.sh report SECONDS     only the figures, from the last run's logs
#
# The targets run side by side. New inputs go to build-fuzz/corpus_<t>/ (the
# committed seeds in tests/fuzz/corpus_<t>/ are only read); a crash, leak,
# UB report or timeout leaves its input in build-fuzz/artifacts/<t>/ and
# stops both targets: a finding is worth more than the remaining time.
# Exit status: 0 when nothing was found.
set -u
mode=${1:?usage: run.sh smoke|campaign|report SECONDS}
secs=${2:?usage: run.sh smoke|campaign|report SECONDS}
here=tests/fuzz
out=build-fuzz
targets="spec cli"

mkdir -p "$out"
# fuzz_spec's bundle (a rootfs/ directory, removed at its exit) goes under
# build-fuzz/tmp: a target stopped by -max_total_time or a finding exits
# without running its atexit, and the bundle stayed in /tmp, one per run
mkdir -p "$out/tmp"
rm -rf "$out"/tmp/husk-fuzz-spec-*
export TMPDIR="$PWD/$out/tmp"
# build-fuzz/ is nobody's to commit
[ -f "$out/.gitignore" ] || echo '*' > "$out/.gitignore"

declare -A maxlen=([spec]=16384 [cli]=1024)
# one log per target and kind of run: a smoke run (make test) may run while
# a campaign does; they share the corpus, which libFuzzer allows
run=$([ "$mode" = report ] && echo campaign || echo "$mode")
status=0

stopped=""
if [ "$mode" != report ]; then
# 1. every reproducer ever found must pass (each file is run once)
for t in $targets; do
	regs=$(find "$here/regressions/$t" -type f ! -name '*.md' 2>/dev/null | sort)
	[ -n "$regs" ] || continue
	if ! "$out/fuzz_$t" -timeout=10 $regs > "$out/regressions_$t-$run.log" 2>&1; then
		echo "fuzz: a regression input of fuzz_$t fails again:" >&2
		tail -40 "$out/regressions_$t-$run.log" >&2
		status=1
	fi
done
[ $status -eq 0 ] || exit $status

# 2. fuzz each target for $secs seconds, side by side
declare -A pid
for t in $targets; do
	mkdir -p "$out/corpus_$t" "$out/artifacts/$t"
	"$out/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
		-rss_limit_mb=2048 -max_len="${maxlen[$t]}" -dict="$here/$t.dict" \
		-artifact_prefix="$out/artifacts/$t/" \
		"$out/corpus_$t" "$here/corpus_$t" > "$out/fuzz_$t-$run.log" 2>&1 &
	pid[$t]=$!
done
for _ in $targets; do
	wait -n
	rc=$?
	if [ $rc -ne 0 ] && [ -z "$stopped" ]; then
		stopped=yes
		status=1
		# the finding is in; the other target stops too
		for t in $targets; do
			kill -0 "${pid[$t]}" 2>/dev/null && kill -INT "${pid[$t]}"
		done
	fi
done
fi

# 3. figures
summary() {
	local t=$1 log="$out/fuzz_$1-$run.log"
	local execs rate last crashes
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -a -E '^#[0-9]+' "$log" | grep -a 'cov:' | tail -1)
	crashes=$(find "$out/artifacts/$t" -type f | sort)
	echo "fuzz_$t ($run, ${secs}s):"
	echo "  executions:  ${execs:-?}"
	echo "  exec/s:      ${rate:-?}"
	echo "  coverage:    $(echo "$last" | grep -aoE 'cov: [0-9]+') edges," \
		"$(echo "$last" | grep -aoE 'ft: [0-9]+') features," \
		"$(echo "$last" | grep -aoE 'corp: [0-9]+/[0-9a-zA-Z]+') corpus"
	echo "  corpus dir:  $(find "$out/corpus_$t" -type f | wc -l) inputs in $out/corpus_$t"
	if [ -n "$crashes" ]; then
		echo "  findings:    $(echo "$crashes" | wc -l)"
		echo "$crashes" | sed 's/^/    /'
		grep -a -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 | sed 's/^/    /'
	else
		echo "  findings:    none"
	fi
}
{
	date -u +"%Y-%m-%dT%H:%M:%SZ"
	[ -z "$stopped" ] || echo "stopped early: a target found something"
	for t in $targets; do summary "$t"; done
} > "$out/summary-$run.txt"
[ "$run" = smoke ] || cp "$out/summary-$run.txt" "$out/summary.txt"
cat "$out/summary-$run.txt"
if [ $status -ne 0 ]; then
	for t in $targets; do
		grep -aqE 'ERROR|runtime error|deadly signal|Test unit written' "$out/fuzz_$t-$run.log" &&
			{ echo "--- fuzz_$t-$run.log (tail)"; tail -60 "$out/fuzz_$t-$run.log"; } >&2
	done
fi
exit $status
