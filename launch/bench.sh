#!/usr/bin/env bash
# Issue "5. Performance" in one run on this machine: cnn-dist side by side with its peers
# (../shared/peers: NumPy/PyTorch CPU, PyTorch DDP gloo), then a Markdown table of the
# figures, the ratios and the target next to each.
#   launch/bench.sh                 full run (a few minutes on 2 cores)
#   BENCH_QUICK=1 launch/bench.sh   smoke run: few steps, rough figures
# Rows: SGEMM 256/512/1024 at 2 threads (cnn-dist bench gemm vs NumPy); LeNet-5 batch 64 and
# ResNet-20 batch 128 at 2 threads (bench train vs train_throughput.py), each as the median of BENCH_PAIRS
# interleaved pairs (below); 2 ranks x 1 thread vs
# 1 rank x 1 thread for ResNet-20, global batch 128 (mpirun vs torchrun + ddp_throughput.py);
# ResNet-20 allocations per step and peak RSS vs the memory lower bound. Issue 9's rows: AlexNet b32,
# VGG-16 b8, GoogLeNet b16, ResNet-50 b16, ResNet-18 b32 at 224x224, 2 threads, against PyTorch fp32
# (train_throughput.py with 10 classes, as ours), as the median of BENCH_PAIRS (default 3) interleaved
# pairs (ours, peer, ours, peer, …), and VGG-16's and ResNet-50's effective rate (3 passes × 2 FLOP ×
# forward MACs × img/s) against bench gemm at n = 1024, timed right before each of our runs: the median
# of the per-pair ratios, as the throughput ratios are (this machine swings ±40% between runs). These
# take 15-30 minutes on 2 cores; BENCH_IMAGENET=0 leaves them out.
# Issue 10's rows (BENCH_BF16=0 leaves them out): bf16 GEMM at n = 1024, 2048 vs PyTorch's bf16 matmul, and
# bf16 training (ResNet-20 b128, ResNet-18 b32, ResNet-50 b16, VGG-16 b8, GoogLeNet b16) vs PyTorch autocast
# bf16 channels-last and vs our own fp32; the bf16 path that ran (amx, avx512bf16, emulated) is in the row.
# Environment: PEERS (venv, default ~/.cache/cnn-dist-peers), BENCH_RAW (keep the raw JSON lines here).
set -uo pipefail
cd "$(dirname "$0")/.."
peers="${PEERS:-$HOME/.cache/cnn-dist-peers}"
shared="$(cd ../shared && pwd)"
if [ ! -x "$peers/bin/python" ]; then
  PEERS="$peers" "$shared/peers/setup.sh" >&2 || { echo "bench.sh: peer setup failed" >&2; exit 1; }
fi
swift build -c release --product cnn-dist >&2 || { echo "bench.sh: build failed" >&2; exit 1; }
binary="$PWD/.build/release/cnn-dist"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun_local=(mpirun --allow-run-as-root --oversubscribe)

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  lenet_steps=20 resnet_steps=3 scaling_steps=3 warmup=1 imagenet_steps=2 imagenet_warmup=1
else
  lenet_steps=200 resnet_steps=20 scaling_steps=20 warmup=5 imagenet_steps=5 imagenet_warmup=2
fi
pairs="${BENCH_PAIRS:-3}"

raw="${BENCH_RAW:-$(mktemp)}"
: > "$raw"
# record TAG COMMAND...: runs COMMAND, keeps its JSON lines as "TAG<tab>json" (or "TAG<tab>ERROR ...").
record() {
  local tag="$1"; shift
  echo "bench.sh: $tag: $*" >&2
  local output status
  output="$("$@" 2>/tmp/bench-stderr.$$)"; status=$?
  local lines
  lines="$(printf '%s\n' "$output" | grep '^{' || true)"
  if [ "$status" -ne 0 ] || [ -z "$lines" ]; then
    printf '%s\tERROR exit %s: %s\n' "$tag" "$status" "$(tail -n 2 /tmp/bench-stderr.$$ | tr '\n\t' '  ')" >> "$raw"
  else
    printf '%s\n' "$lines" | sed "s/^/$tag\t/" >> "$raw"
  fi
  rm -f /tmp/bench-stderr.$$
}
peer() { (cd "$shared/peers" && "$@"); }
# A model's summary (MACs) as one JSON line.
summary_line() {
  "$binary" summary --model "$1" --classes 10 --format json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))'
}

# SGEMM, LeNet-5 and ResNet-20: interleaved pairs too (single runs of LeNet-5 moved 1.37× -> 2.50× in 30 minutes).
for pair in $(seq 1 "$pairs"); do
  record "gemm.ours.$pair" "$binary" bench gemm --sizes 256,512,1024 --threads 2
  record "gemm.peer.$pair" peer "$peers/bin/python" gemm.py --threads 2 --sizes 256,512,1024
  record "lenet.ours.$pair" "$binary" bench train --model lenet5 --batch 64 --threads 2 --steps "$lenet_steps" \
    --warmup "$warmup"
  record "lenet.peer.$pair" peer "$peers/bin/python" train_throughput.py --model lenet5 --batch 64 --threads 2 \
    --steps "$lenet_steps" --warmup "$warmup"
  record "resnet.ours.$pair" "$binary" bench train --model resnet20 --batch 128 --threads 2 --steps "$resnet_steps" \
    --warmup "$warmup"
  record "resnet.peer.$pair" peer "$peers/bin/python" train_throughput.py --model resnet20 --batch 128 --threads 2 \
    --steps "$resnet_steps" --warmup "$warmup"
done
record scale1.ours "$binary" bench train --model resnet20 --batch 128 --threads 1 --steps "$scaling_steps" --warmup "$warmup"
record scale2.ours "${mpirun_local[@]}" -n 2 "$binary" bench train --model resnet20 --batch 128 --threads 1 \
  --steps "$scaling_steps" --warmup "$warmup"
record scale1.peer peer "$peers/bin/torchrun" --standalone --nproc_per_node=1 ddp_throughput.py --model resnet20 \
  --global-batch 128 --steps "$scaling_steps"
record scale2.peer peer "$peers/bin/torchrun" --standalone --nproc_per_node=2 ddp_throughput.py --model resnet20 \
  --global-batch 128 --steps "$scaling_steps"

# The ImageNet-size models: interleaved pairs, so both sides see the same noisy machine.
imagenet_models="alexnet:32 vgg16:8 googlenet:16 resnet50:16 resnet18:32"
if [ "${BENCH_IMAGENET:-1}" != 0 ]; then
  for entry in $imagenet_models; do
    model="${entry%%:*}" batch="${entry##*:}"
    record "macs.$model" summary_line "$model"
    for pair in $(seq 1 "$pairs"); do
      case "$model" in
        vgg16|resnet50) record "in.$model.gemm.$pair" "$binary" bench gemm --sizes 1024 --threads 2 ;;
      esac
      record "in.$model.ours.$pair" "$binary" bench train --model "$model" --batch "$batch" --threads 2 \
        --steps "$imagenet_steps" --warmup "$imagenet_warmup"
      record "in.$model.peer.$pair" peer "$peers/bin/python" train_throughput.py --model "$model" --batch "$batch" \
        --threads 2 --classes 10 --steps "$imagenet_steps" --warmup "$imagenet_warmup"
    done
  done
fi

# Issue 10's rows: bf16 (training.precision bf16 / bench --precision bf16) against PyTorch's bf16 matmul and
# its fastest CPU training path (autocast bf16 + channels-last), interleaved pairs as above; our fp32 beside
# it (the in.* rows, or resnet.ours for ResNet-20). BENCH_BF16=0 leaves them out.
bf16_models="resnet20:128 resnet18:32 resnet50:16 vgg16:8 googlenet:16"
if [ "${BENCH_BF16:-1}" != 0 ]; then
  for pair in $(seq 1 "$pairs"); do
    record "gemm.bf16.ours.$pair" "$binary" bench gemm --precision bf16 --sizes 1024,2048 --threads 2
    record "gemm.bf16.peer.$pair" peer "$peers/bin/python" gemm.py --threads 2 --sizes 1024,2048
  done
  for entry in $bf16_models; do
    model="${entry%%:*}" batch="${entry##*:}"
    for pair in $(seq 1 "$pairs"); do
      record "bf.$model.ours.$pair" "$binary" bench train --model "$model" --batch "$batch" --threads 2 \
        --precision bf16 --steps "$imagenet_steps" --warmup "$imagenet_warmup"
      record "bf.$model.peer.$pair" peer "$peers/bin/python" train_throughput.py --model "$model" --batch "$batch" \
        --threads 2 --classes 10 --bf16 --channels-last --steps "$imagenet_steps" --warmup "$imagenet_warmup"
    done
  done
fi

echo "--- raw ($raw) ---" >&2
cat "$raw" >&2
python3 - "$raw" "${BENCH_QUICK:-0}" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    tag, _, text = line.rstrip("\n").partition("\t")
    rows.setdefault(tag, [])
    if not text.startswith("ERROR"):
        try:
            rows[tag].append(json.loads(text))
        except ValueError:
            pass
    else:
        rows[tag].append({"error": text})

def first(tag, key):
    for row in rows.get(tag, []):
        if key in row:
            return row[key]
    return None

def fmt(value, unit=""):
    if value is None:
        return "not available"
    # Two decimals below 10 (VGG-16's 1.97 img/s, not 2.0), one above.
    if isinstance(value, float):
        return f"{value:,.2f}{unit}" if abs(value) < 10 else f"{value:,.1f}{unit}"
    return f"{value}{unit}"

def ratio(a, b):
    return a / b if a is not None and b else None

def verdict(value, ok):
    return "—" if value is None else ("yes" if ok(value) else "**no**")

table = ["| benchmark | cnn-dist | peer | ratio | target | met |", "|---|---|---|---|---|---|"]
def add(name, ours, theirs, r, target, ok, ours_unit="", theirs_unit=""):
    table.append(f"| {name} | {fmt(ours, ours_unit)} | {fmt(theirs, theirs_unit)} | "
                 f"{'—' if r is None else f'{r:.2f}×'} | {target} | {verdict(r, ok)} |")

import statistics
def size_pairs(prefix, ours_key, theirs_key, n):
    """(ours, theirs) per interleaved pair PREFIX.ours.N / PREFIX.peer.N at size n."""
    pairs = []
    for tag in sorted(t for t in rows if t.startswith(f"{prefix}.ours.")):
        mine = next((r for r in rows[tag] if r.get("size") == n and ours_key in r), None)
        peer = next((r for r in rows.get(tag.replace(".ours.", ".peer."), []) if r.get("size") == n
                     and theirs_key in r), None)
        if mine and peer:
            pairs.append((float(mine[ours_key]), float(peer[theirs_key])))
    return pairs

def add_pairs(name, pairs, target, ok):
    """A row from interleaved pairs: the medians of each side and of the per-pair ratios."""
    if not pairs:
        add(name, None, None, None, target, ok)
        return
    add(f"{name}; median of {len(pairs)} pairs", statistics.median(float(o) for o, _ in pairs),
        statistics.median(float(t) for _, t in pairs), statistics.median(o / t for o, t in pairs), target, ok)

for n in (256, 512, 1024):
    add_pairs(f"SGEMM {n}³, 2 threads (GFLOP/s vs NumPy)", size_pairs("gemm", "gflops", "numpy_gflops", n),
              "≥ 0.9× NumPy", lambda r: r >= 0.9)
for name, tag, target, bound in (("LeNet-5 batch 64, 2 threads (img/s vs PyTorch)", "lenet", "≥ 1.5×", 1.5),
                                 ("ResNet-20 batch 128, 2 threads (img/s vs PyTorch)", "resnet", "≥ 1.0×", 1.0)):
    ours = [first(t, "images_per_sec") for t in sorted(rows) if t.startswith(f"{tag}.ours.")]
    theirs = [first(t, "images_per_sec") for t in sorted(rows) if t.startswith(f"{tag}.peer.")]
    add_pairs(name, [(o, t) for o, t in zip(ours, theirs) if o and t], target, lambda r, b=bound: r >= b)

o1, o2 = first("scale1.ours", "images_per_sec"), first("scale2.ours", "images_per_sec")
t1, t2 = first("scale1.peer", "images_per_sec"), first("scale2.peer", "images_per_sec")
ours_eff = o2 / (2 * o1) if o1 and o2 else None
ddp_eff = t2 / (2 * t1) if t1 and t2 else None
met = "—" if ours_eff is None else ("yes" if ours_eff >= 0.9 and (ddp_eff is None or ours_eff >= ddp_eff) else "**no**")
table.append(f"| ResNet-20 global batch 128: 2 ranks × 1 thread vs 1 × 1, scaling efficiency (vs DDP) | "
             f"{'not available' if ours_eff is None else f'{ours_eff:.2f}'} ({fmt(o1)} → {fmt(o2)} img/s) | "
             f"{'not available' if ddp_eff is None else f'{ddp_eff:.2f}'} ({fmt(t1)} → {fmt(t2)} img/s) | "
             f"{'—' if ours_eff is None or not ddp_eff else f'{ours_eff / ddp_eff:.2f}×'} | ≥ 0.9 and ≥ DDP's | {met} |")

allocations = first("resnet.ours.1", "allocations_per_step")
table.append(f"| ResNet-20 batch 128: heap allocations per step | {fmt(allocations)} | — | — | 0 | "
             f"{verdict(allocations, lambda a: a == 0)} |")
rss, lower = first("resnet.ours.1", "peak_rss_mib"), first("resnet.ours.1", "memory_lower_bound_mib")
theirs_rss = first("resnet.peer.1", "peak_rss_mib")
r = ratio(rss, lower)
table.append(f"| ResNet-20 batch 128: peak RSS vs lower bound (MiB; peer column: PyTorch's RSS) | "
             f"{fmt(rss)} (bound {fmt(lower)}) | {fmt(theirs_rss)} | {'—' if r is None else f'{r:.2f}×'} | "
             f"≤ 1.5× bound | {verdict(r, lambda x: x <= 1.5)} |")

def interleaved(prefix):
    """The pairs recorded as PREFIX.ours.N / PREFIX.peer.N: None if neither side ran, else (pairs, median of
    ours, median of theirs, median of the per-pair ratios), the medians None without a complete pair."""
    ours = [first(t, "images_per_sec") for t in sorted(rows) if t.startswith(f"{prefix}.ours.")]
    theirs = [first(t, "images_per_sec") for t in sorted(rows) if t.startswith(f"{prefix}.peer.")]
    if not ours and not theirs:
        return None
    pairs = [(o, t) for o, t in zip(ours, theirs) if o and t]
    if not pairs:
        return 0, None, None, None
    return (len(pairs), statistics.median(o for o, _ in pairs), statistics.median(t for _, t in pairs),
            statistics.median(o / t for o, t in pairs))

for model, batch, label in (("alexnet", 32, "AlexNet"), ("vgg16", 8, "VGG-16"), ("googlenet", 16, "GoogLeNet"),
                            ("resnet50", 16, "ResNet-50"), ("resnet18", 32, "ResNet-18")):
    measured = interleaved(f"in.{model}")
    if measured is None:
        continue
    count, o_med, t_med, median = measured
    add(f"{label} batch {batch} 224x224, 2 threads (img/s vs PyTorch fp32; median of {count} pairs)",
        o_med, t_med, median, "≥ 1.5×", lambda r: r >= 1.5)
    macs = (first(f"macs.{model}", "totals") or {}).get("macs")
    if model in ("vgg16", "resnet50") and macs:
        # Each of our runs against the GEMM timed just before it (no peer needed); the median of those ratios.
        ours = [first(t, "images_per_sec") for t in sorted(rows) if t.startswith(f"in.{model}.ours.")]
        gemms = [next((float(r["gflops"]) for r in rows.get(t, []) if "gflops" in r), None)
                 for t in sorted(rows) if t.startswith(f"in.{model}.gemm.")]
        beside = [(6 * macs * o / 1e9, g) for o, g in zip(ours, gemms) if o and g]
        if beside:
            effective = statistics.median(e for e, _ in beside)
            add(f"{label}: effective GFLOP/s (3 passes × 2 × MACs × img/s) vs bench gemm n=1024 timed beside it "
                f"(median of {len(beside)} pairs)", effective, statistics.median(g for _, g in beside),
                statistics.median(e / g for e, g in beside), "≥ 1.0×", lambda r: r >= 1.0)

for n in (1024, 2048):
    # Interleaved pairs (ours, PyTorch, ours, …): the median of the per-pair ratios.
    pairs, path = [], "?"
    for tag in sorted(t for t in rows if t.startswith("gemm.bf16.ours.")):
        mine = next((r for r in rows[tag] if r.get("size") == n and "gflops" in r), None)
        peer = next((r for r in rows.get(tag.replace(".ours.", ".peer."), [])
                     if r.get("size") == n and "pytorch_bf16_gflops" in r), None)
        if mine and peer:
            pairs.append((float(mine["gflops"]), float(peer["pytorch_bf16_gflops"])))
            path = mine.get("path", "?")
    if pairs:
        add(f"bf16 GEMM {n}³, 2 threads, path {path} (GFLOP/s vs PyTorch bf16 matmul; median of {len(pairs)} pairs)",
            statistics.median(o for o, _ in pairs), statistics.median(t for _, t in pairs),
            statistics.median(o / t for o, t in pairs), "≥ 1.0×", lambda r: r >= 1.0)
for model, batch, label in (("resnet20", 128, "ResNet-20"), ("resnet18", 32, "ResNet-18"), ("resnet50", 16, "ResNet-50"),
                            ("vgg16", 8, "VGG-16"), ("googlenet", 16, "GoogLeNet")):
    measured = interleaved(f"bf.{model}")
    if measured is None:
        continue
    count, o_med, t_med, median = measured
    add(f"{label} batch {batch} bf16, 2 threads (img/s vs PyTorch autocast bf16 channels-last; "
        f"median of {count} pairs)", o_med, t_med, median, "≥ 1.5×", lambda r: r >= 1.5)
    fp32 = [first(t, "images_per_sec") for t in sorted(rows) if t.startswith(f"in.{model}.ours.")]
    fp32 = [v for v in fp32 if v] or [first(t, "images_per_sec") for t in sorted(rows)
                                      if model == "resnet20" and t.startswith("resnet.ours.") and first(t, "images_per_sec")]
    f_med = statistics.median(fp32) if fp32 else None
    add(f"{label} batch {batch}: cnn-dist bf16 vs its own fp32 (img/s)", o_med, f_med, ratio(o_med, f_med),
        "≥ 2.5×", lambda r: r >= 2.5)

errors = [(tag, r["error"]) for tag, rs in rows.items() for r in rs if "error" in r]
print("\n".join(table))
if sys.argv[2] == "1":
    print("\nBENCH_QUICK=1: few steps, figures are rough.")
for tag, error in errors:
    if tag.startswith("gemm.ours") and "Usage:" in error:
        error = "`cnn-dist bench gemm` is not available in this build (it comes with the GEMM kernel branch)"
    print(f"\n- {tag}: {error}")
PY
