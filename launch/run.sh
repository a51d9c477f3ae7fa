#!/usr/bin/env bash
# Set up and run the main job: installs prerequisites if missing, builds release, trains
# LeNet-5 on the built-in synthetic data. Extra arguments go to `cnn-dist train`.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/prerequisites.sh
swift build -c release --product cnn-dist
exec .build/release/cnn-dist train "$@"
