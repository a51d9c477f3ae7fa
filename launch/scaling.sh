#!/usr/bin/env bash
# Data-parallel scaling on this machine, side by side with PyTorch DDP in one run:
# 1 rank x 1 thread vs 2 ranks x 1 thread, same global batch, for cnn-dist and for
# torchrun + ../shared/peers/ddp_throughput.py. Prints each JSON line and the efficiencies
# (throughput at 2 ranks / (2 x throughput at 1 rank)).
#   launch/scaling.sh [model] [global batch] [steps]      (defaults: lenet5 64 300)
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-lenet5}" batch="${2:-64}" steps="${3:-300}"
peers="${PEERS:-$HOME/.cache/cnn-dist-peers}"
shared="$(cd ../shared && pwd)"
[ -x "$peers/bin/python" ] || PEERS="$peers" "$shared/peers/setup.sh"
swift build -c release --product cnn-dist >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rate() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['images_per_sec'])"; }
ours1=$(.build/release/cnn-dist bench train --model "$model" --batch "$batch" --threads 1 --steps "$steps")
ours2=$(mpirun -n 2 --oversubscribe .build/release/cnn-dist bench train --model "$model" --batch "$batch" --threads 1 --steps "$steps")
theirs1=$(cd "$shared/peers" && "$peers/bin/torchrun" --nproc_per_node=1 ddp_throughput.py --model "$model" --global-batch "$batch" --steps "$steps" 2>/dev/null | grep peer)
theirs2=$(cd "$shared/peers" && "$peers/bin/torchrun" --nproc_per_node=2 ddp_throughput.py --model "$model" --global-batch "$batch" --steps "$steps" 2>/dev/null | grep peer)
printf '%s\n%s\n%s\n%s\n' "$ours1" "$ours2" "$theirs1" "$theirs2"
python3 - "$(echo "$ours1" | rate)" "$(echo "$ours2" | rate)" "$(echo "$theirs1" | rate)" "$(echo "$theirs2" | rate)" <<'PY'
import sys
o1, o2, t1, t2 = map(float, sys.argv[1:])
print(f"cnn-dist efficiency {o2 / (2 * o1):.2f}  (1 rank {o1:.0f} img/s, 2 ranks {o2:.0f} img/s)")
print(f"PyTorch DDP efficiency {t2 / (2 * t1):.2f}  (1 rank {t1:.0f} img/s, 2 ranks {t2:.0f} img/s)")
print(f"cnn-dist / PyTorch at 2 ranks: {o2 / t2:.2f}x")
PY
