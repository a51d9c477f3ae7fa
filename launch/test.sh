#!/usr/bin/env bash
# Runs the whole test suite (installs prerequisites if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
launch/prerequisites.sh
swift build --build-tests
swift test --skip-build "$@"
