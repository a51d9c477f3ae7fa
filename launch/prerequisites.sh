#!/usr/bin/env bash
# Installs the system packages cnn-dist builds against, when missing (Debian/Ubuntu, needs root or sudo):
# zlib (gzip datasets), Open MPI (multi-rank runs), libjpeg-turbo's TurboJPEG and libspng (image folders),
# libpng (the tests' independent PNG encoder), librsvg's rsvg-convert (`report`'s PNG charts; the first
# converter tried, so a machine's other `convert` is not needed).
set -euo pipefail
need=()
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -f /usr/include/x86_64-linux-gnu/mpi/mpi.h ] || pkg-config --exists ompi-c 2>/dev/null || need+=(libopenmpi-dev)
command -v mpirun >/dev/null || need+=(openmpi-bin)
[ -f /usr/include/turbojpeg.h ] || need+=(libturbojpeg0-dev)
[ -f /usr/include/spng.h ] || need+=(libspng-dev)
[ -f /usr/include/png.h ] || need+=(libpng-dev)
command -v rsvg-convert >/dev/null || need+=(librsvg2-bin)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
