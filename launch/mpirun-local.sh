#!/usr/bin/env bash
# Runs cnn-dist with N ranks on this machine: launch/mpirun-local.sh N train --config configs/x.yaml
# Threads per rank default to cores / N (set training.threads or --threads to override).
# Adds --oversubscribe (more ranks than cores is fine for testing) and, as root, --allow-run-as-root.
set -euo pipefail
cd "$(dirname "$0")/.."
ranks="${1:?usage: launch/mpirun-local.sh RANKS cnn-dist-arguments...}"
shift
binary="${CNN_DIST_BINARY:-.build/release/cnn-dist}"
[ -x "$binary" ] || swift build -c release --product cnn-dist
root_flag=()
[ "$(id -u)" -eq 0 ] && root_flag=(--allow-run-as-root)
exec mpirun --oversubscribe "${root_flag[@]}" -n "$ranks" "$binary" "$@"
