#!/usr/bin/env bash
# Set up and run the main job: installs prerequisites if missing (zlib, Open MPI), builds
# release, and trains LeNet-5 on the built-in synthetic data with 4 MPI ranks.
# RANKS=N changes the rank count; extra arguments go to `cnn-dist train`.
# Each run gets its own run directory (runs/<config>-<date-time>) unless --run-dir or
# --resume is given: a fresh run never reuses a directory that holds checkpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/prerequisites.sh
swift build -c release --product cnn-dist
args=("$@")
name=default
explicit=0
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --run-dir|--run-dir=*|--resume|--resume=*) explicit=1 ;;
    --config) [ $((i + 1)) -lt ${#args[@]} ] && name=$(basename "${args[$((i + 1))]}" .yaml) ;;
    --config=*) name=$(basename "${args[$i]#--config=}" .yaml) ;;
  esac
done
if [ "$explicit" -eq 0 ]; then
  args+=(--run-dir "runs/$name-$(date +%Y%m%d-%H%M%S)")
fi
exec launch/mpirun-local.sh "${RANKS:-4}" train "${args[@]}"
