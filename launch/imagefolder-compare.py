"""cnn-dist's image-folder input pipeline next to torchvision's: pixel fidelity and throughput.

usage (with the peers' venv, default ~/.cache/cnn-dist-peers, which has numpy/torch/torchvision):
  ~/.cache/cnn-dist-peers/bin/python launch/imagefolder-compare.py fidelity ROOT --bin .build/release/cnn-dist [--count 50]
  ~/.cache/cnn-dist-peers/bin/python launch/imagefolder-compare.py throughput ROOT --bin .build/release/cnn-dist \
      [--pairs 3] [--workers 2] [--batch 64] [--batches 20] [--val] [--size 224]

fidelity: the first COUNT images under ROOT (sorted paths, recursive, .jpg/.jpeg/.png) through
`BIN data tensor FILE... --size 224 --resize 256 -o OUT.npy` and through torchvision's
Compose([Resize(256), CenterCrop(224), ToTensor(), Normalize(ImageNet)]) on Image.open(f).convert("RGB").
Differences are in units of 1/255 of the unnormalised pixel (|ours - theirs| * std * 255), reported
separately for JPEGs and PNGs: max, 99.9th percentile, fraction within 1 and within 2 (+1e-3 slack
for float rounding). JPEG figures include any difference between the two JPEG decoders.
throughput: `BIN bench images ROOT ...` and ../shared/peers/imagefolder_throughput.py (same arguments)
alternately, ours first, PAIRS times; each run is printed as a JSON line, then a summary line with
the median of the per-pair ratios ours/peer.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(REPO, "..", "shared", "peers", "imagefolder_throughput.py")
PEERS_PY = os.path.join(os.environ.get("PEERS", os.path.expanduser("~/.cache/cnn-dist-peers")), "bin", "python")
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
EXTS = (".jpg", ".jpeg", ".png")


def image_files(root, count):
    found = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.lower().endswith(EXTS)]
    return sorted(found)[:count]


def fidelity(a):
    import numpy as np, torchvision.transforms as T
    from PIL import Image
    files = image_files(a.root, a.count)
    if not files:
        sys.exit(f"no .jpg/.jpeg/.png files under {a.root}")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ours.npy")
        subprocess.run([a.bin, "data", "tensor", *files, "--size", "224", "--resize", "256", "-o", out], check=True)
        ours = np.load(out)
    if ours.shape != (len(files), 3, 224, 224):
        sys.exit(f"ours: shape {ours.shape}, expected {(len(files), 3, 224, 224)}")
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])
    std255 = np.array(STD, np.float64)[:, None, None] * 255
    diffs, worst = {"jpeg": [], "png": []}, {}
    for f, x in zip(files, ours):
        theirs = tf(Image.open(f).convert("RGB")).numpy()
        kind = "png" if f.lower().endswith(".png") else "jpeg"
        diffs[kind].append((np.abs(x.astype(np.float64) - theirs) * std255).ravel())
        if diffs[kind][-1].max() > worst.get(kind, (-1.0, ""))[0]:
            worst[kind] = (float(diffs[kind][-1].max()), os.path.relpath(f, a.root))
    report = {"root": a.root, "images": len(files)}
    for kind, ds in diffs.items():
        if not ds:
            continue
        d = np.concatenate(ds)
        report[kind] = {"images": len(ds), "max": round(float(d.max()), 3),
                        "p99_9": round(float(np.percentile(d, 99.9)), 3),
                        "within_1": round(float((d <= 1 + 1e-3).mean()), 6),
                        "within_2": round(float((d <= 2 + 1e-3).mean()), 6), "worst_file": worst[kind][1]}
    print(json.dumps(report))


def last_json_line(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads([l for l in out.splitlines() if l.startswith("{")][-1])


def throughput(a):
    args = [a.root, "--workers", str(a.workers), "--batch", str(a.batch), "--batches", str(a.batches),
            "--size", str(a.size)] + (["--val"] if a.val else [])
    ours_cmd, peer_cmd = [a.bin, "bench", "images", *args], [PEERS_PY, PEER, *args]
    ratios, runs = [], {"cnn-dist": [], "torchvision": []}
    for pair in range(a.pairs):
        for who, cmd in (("cnn-dist", ours_cmd), ("torchvision", peer_cmd)):
            r = last_json_line(cmd)
            runs[who].append(r["images_per_sec"])
            print(json.dumps({"pair": pair + 1, "who": who, **r}), flush=True)
        ratios.append(runs["cnn-dist"][-1] / runs["torchvision"][-1])
    print(json.dumps({"mode": "val" if a.val else "train", "workers": a.workers, "batch": a.batch, "batches": a.batches,
                      "size": a.size, "pairs": a.pairs, "images_per_sec": runs,
                      "ratios": [round(r, 3) for r in ratios], "median_ratio": round(statistics.median(ratios), 3)}))


p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
sub = p.add_subparsers(dest="command", required=True)
f = sub.add_parser("fidelity"); f.add_argument("root"); f.add_argument("--bin", required=True)
f.add_argument("--count", type=int, default=50)
t = sub.add_parser("throughput"); t.add_argument("root"); t.add_argument("--bin", required=True)
for name, default in (("--pairs", 3), ("--workers", 2), ("--batch", 64), ("--batches", 20), ("--size", 224)):
    t.add_argument(name, type=int, default=default)
t.add_argument("--val", action="store_true")
a = p.parse_args()
fidelity(a) if a.command == "fidelity" else throughput(a)
