#!/usr/bin/env bash
# Set up and run the main job: installs prerequisites if missing (zlib, Open MPI), builds
# release, and trains LeNet-5 on the built-in synthetic data with 4 MPI ranks.
# RANKS=N changes the rank count; extra arguments go to `cnn-dist train`.
# Each fresh run gets its own folder, runs/<config name>/version_N (cnn-dist chooses it),
# unless --run-dir names one; a bare --resume continues the newest.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/prerequisites.sh
swift build -c release --product cnn-dist
exec launch/mpirun-local.sh "${RANKS:-4}" train "$@"
