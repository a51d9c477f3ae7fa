#!/usr/bin/env bash
# Installs the system packages cnn-dist builds against, when missing (Debian/Ubuntu, needs root or sudo):
# zlib (gzip datasets) and Open MPI (multi-rank runs).
set -euo pipefail
need=()
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -f /usr/include/x86_64-linux-gnu/mpi/mpi.h ] || pkg-config --exists ompi-c 2>/dev/null || need+=(libopenmpi-dev)
command -v mpirun >/dev/null || need+=(openmpi-bin)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
