#!/usr/bin/env bash
# Runs the whole test suite (installs prerequisites if missing). The suite builds in release
# mode: the training and multi-rank tests run real kernels, which debug builds make ~50x
# slower. -enable-testing lets kernel tests reach internal tuning knobs. The style gate
# (launch/lint.sh) runs first: it takes two seconds. Without arguments, the libFuzzer targets
# run last (launch/fuzz.sh, 10,000 inputs each: about three minutes with their sanitizer build).
# The test build has its own scratch path (.build/test): its -enable-testing release build and
# launch/run.sh's or bench.sh's plain one (.build/release) no longer rebuild each other.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/prerequisites.sh
launch/lint.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
scratch=.build/test
swift build -c release --scratch-path "$scratch" --build-tests -Xswiftc -enable-testing
swift test -c release --scratch-path "$scratch" --skip-build -Xswiftc -enable-testing "$@"
# The whole suite (no filter) ends with the libFuzzer targets, a fixed number of inputs each.
if [ $# -eq 0 ]; then CNN_DIST_BINARY="$scratch/release/cnn-dist" launch/fuzz.sh "${FUZZ_RUNS:-10000}"; fi
