#!/usr/bin/env bash
# libFuzzer targets for the three readers of untrusted bytes: the config parser (fuzz-config), the
# checkpoint reader (fuzz-checkpoint) and the data readers (fuzz-data: JPEG/PNG decoding, IDX images
# and labels, gzip). Builds them with -sanitize=fuzzer,address in their own scratch path
# (.build/fuzz, so the release build is left alone) and runs each for RUNS inputs (default 20000,
# seed 1) from a seed corpus of shipped configs, a real checkpoint and real images. A crash, a
# sanitizer report, a timeout or a broken invariant fails the script, leaving the input as
# .build/fuzz/crash-* (replay it with a plain build: .build/release/fuzz-config FILE).
#
#   launch/fuzz.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20000}"
scratch=.build/fuzz
corpus="$scratch/corpus"
binary="${CNN_DIST_BINARY:-.build/release/cnn-dist}"
[ -x "$binary" ] || swift build -c release --product cnn-dist
flags=(-c debug --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
    -Xswiftc -DFUZZING -Xswiftc -use-ld=lld)

# Seeds: every shipped config; a checkpoint of two LeNet-5 steps; small JPEG and PNG images and an
# IDX image file and label file (plain and gzip).
rm -rf "$corpus" && mkdir -p "$corpus"/{config,checkpoint,data}
cp configs/*.yaml "$corpus/config/"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$binary" train --quiet --max-steps 2 --run-dir "$work/run" --set data.train_samples=128 \
    --set data.validation_samples=64 --set checkpoint.every_steps=1
cp "$work/run/checkpoints/step-000000002.safetensors" "$corpus/checkpoint/"
for format in jpeg png; do
    "$binary" data make-images --output "$work/$format" --classes 1 --train-per-class 2 --val-per-class 1 \
        --size 24x16 --format "$format" >/dev/null
    find "$work/$format" -type f -name '*.*' | head -3 | while read -r image; do cp "$image" "$corpus/data/"; done
done
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05\x06\x07\x08' \
    >"$corpus/data/images.idx"
printf '\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02\x03' >"$corpus/data/labels.idx"
gzip -c "$corpus/data/images.idx" >"$corpus/data/images.idx.gz"

# Foundation's FileManager.contents(atPath:) leaks its read buffer for some files (swift-foundation,
# readBytesFromFile); the IDX reader calls it, so that one allocation site is not reported.
printf 'leak:readBytesFromFile\n' >"$scratch/lsan-suppressions.txt"
export LSAN_OPTIONS="suppressions=$PWD/$scratch/lsan-suppressions.txt"

status=0
for target in config checkpoint data; do
    swift build "${flags[@]}" --product "fuzz-$target" 2>&1 | grep -E "error|warning: unre|Compiling|complete" | tail -1
    log="$scratch/fuzz-$target.log"
    if (cd "$scratch" && ./debug/"fuzz-$target" -runs="$runs" -seed=1 -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 "corpus/$target" >"fuzz-$target.log" 2>&1); then
        echo "fuzz-$target: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') inputs," \
            "$(grep -m1 -o 'stat::new_units_added: *[0-9]*' "$log" | grep -o '[0-9]*$') new corpus entries, no finding"
    else
        status=1
        echo "fuzz-$target: FINDING (see $log):"
        grep -E "ERROR|SUMMARY|Fatal error|Test unit written|==[0-9]+==" "$log" | head -20
    fi
done
[ "$status" -eq 0 ] && echo "fuzz: every target ran $runs inputs without a finding"
exit "$status"
