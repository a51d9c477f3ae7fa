#!/usr/bin/env bash
# The test suite under a sanitizer: launch/sanitize.sh address|thread [swift test arguments].
# A command, not part of .ci/run (thread takes ~30 min for the whole suite on 2 cores; pass
# --filter to narrow it). Release build, in its own scratch path (.build/address, .build/thread).
#   address: use-after-free, overflows; thread: data races (the worker pool, in-process ranks,
#   prefetch threads). Every process writes its reports to a log directory (log_path), the
#   cnn-dist processes the tests start included, whose stderr the tests keep to themselves.
# Under a sanitizer the allocation counter steps aside (the sanitizer owns malloc), so the tests
# that count allocations fail with "not counted"; any other failure, a crash or a report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
case "$kind" in
  address | thread) shift ;;
  *) echo "usage: launch/sanitize.sh address|thread [swift test arguments, e.g. --filter ParallelTests]" >&2; exit 2 ;;
esac
launch/prerequisites.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
reports=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$reports" "$log"' EXIT
# Leaks are not checked (the Swift runtime keeps its caches). ASan stops a process at its first
# report (recovery needs a build option); TSan reports every race and goes on.
export ASAN_OPTIONS="detect_leaks=0:log_path=$reports/report${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export TSAN_OPTIONS="report_signal_unsafe=0:log_path=$reports/report${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
scratch=.build/$kind
swift build -c release --scratch-path "$scratch" --build-tests -Xswiftc -enable-testing --sanitize="$kind"
status=0
swift test -c release --scratch-path "$scratch" --skip-build -Xswiftc -enable-testing --sanitize="$kind" "$@" 2>&1 \
  | tee "$log" || status=$?
found=$(cat "$reports"/report* 2>/dev/null | grep -c -E '(ERROR|WARNING|FATAL): (Address|Thread)Sanitizer' || true)
if [ "$found" -gt 0 ]; then
  echo "sanitize.sh: the reports, from $(ls "$reports" | wc -l) process(es):"
  cat "$reports"/report*
fi
# Failed tests other than those that need the allocation counter.
counted='BenchCommandTests\.(testAWarmTrainingStepAllocatesNothing|testAllocationCounterCountsADebugLoad|testBenchPipelinePrintsOneJSONLine|testBenchTrainPrintsOneJSONLineWithTheRequiredKeys)|BFloat16CommandTests\.testTrainReportsPrecisionPathAndMemoryBound'
others=$(grep -oE 'error: [A-Za-z0-9]+\.test[A-Za-z0-9]+' "$log" | sed 's/^error: //' | sort -u | grep -vE "^($counted)\$" || true)
crashed=$(grep -c -E 'Test Case .* started' "$log" || true)
finished=$(grep -c -E "Test Case .* (passed|failed|skipped)" "$log" || true)
echo "sanitize.sh $kind: $found sanitizer report(s); swift test exit status $status;" \
  "$((crashed - finished)) test(s) that did not finish; other failing tests: ${others:-none}"
[ "$found" -eq 0 ] && [ -z "$others" ] && [ "$crashed" -eq "$finished" ] \
  && { [ "$status" -eq 0 ] || grep -qE "error: ($counted) " "$log"; }
