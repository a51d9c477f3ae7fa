#!/usr/bin/env bash
# The test suite under a sanitizer: launch/sanitize.sh address|thread [swift test arguments].
# A command, not part of .ci/run (thread takes ~30 min for the whole suite on 2 cores; pass
# --filter to narrow it). Release build, in its own scratch path (.build/address, .build/thread).
#   address: use-after-free, overflows, in every test, the cnn-dist processes they start included.
#   thread:  data races; the worker pool, in-process ranks (--workers), prefetch threads.
# Under a sanitizer the allocation counter steps aside (the sanitizer owns malloc), so the five
# tests that count allocations fail with "allocations_per_step not counted"; nothing else may.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
case "$kind" in
  address | thread) shift ;;
  *) echo "usage: launch/sanitize.sh address|thread [swift test arguments, e.g. --filter ParallelTests]" >&2; exit 2 ;;
esac
launch/prerequisites.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Report every finding and go on; leaks are not checked (the Swift runtime keeps its caches).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=0}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:report_signal_unsafe=0}
scratch=.build/$kind
swift build -c release --scratch-path "$scratch" --build-tests -Xswiftc -enable-testing --sanitize="$kind"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test -c release --scratch-path "$scratch" --skip-build -Xswiftc -enable-testing --sanitize="$kind" "$@" 2>&1 \
  | tee "$log" || status=$?
reports=$(grep -c -E 'ERROR: AddressSanitizer|WARNING: ThreadSanitizer' "$log" || true)
echo "sanitize.sh $kind: $reports sanitizer report(s); swift test exit status $status"
[ "$reports" -eq 0 ]
