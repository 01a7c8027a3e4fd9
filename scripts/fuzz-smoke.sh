#!/usr/bin/env bash
# libFuzzer runs of the parsers of every file a user hands us (IDX, CIFAR, model archive zip structure, thresholds
# files, recipes, projects): configures a separate clang build, builds the fuzz targets only, and runs each for
# FUZZ_SECONDS (default 20), or for FUZZ_RUNS executions when that is set (docs/hostile-input.md lists the runs of
# 10^6). FUZZ_TARGETS picks some ("idx recipe"). Not part of ctest.
#   scripts/fuzz-smoke.sh [build-dir]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/fuzz}"
seconds="${FUZZ_SECONDS:-20}"

command -v clang++ >/dev/null || { echo "fuzz-smoke: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSPARSITY_BUILD_FUZZERS=ON -DSPARSITY_BUILD_TRAINER=OFF -DSPARSITY_BUILD_BENCH=OFF >/dev/null
targets="${FUZZ_TARGETS:-idx cifar modelarchive thresholds recipe project}"
cmake --build "$build" --target $(for t in $targets; do echo "fuzz_$t"; done) -j2

# Seed corpora: a valid small file of each kind, so the fuzzer starts from real structure.
corpus="$build/fuzz-corpus"
mkdir -p "$corpus/idx" "$corpus/cifar" "$corpus/modelarchive" "$corpus/thresholds" "$corpus/recipe" "$corpus/project"
/usr/bin/python3 - "$corpus" <<'PY'
import struct, sys, os
c = sys.argv[1]
open(os.path.join(c, "idx", "images"), "wb").write(struct.pack(">BBBBIII", 0, 0, 8, 3, 2, 3, 3) + bytes(range(18)))
open(os.path.join(c, "idx", "labels"), "wb").write(struct.pack(">BBBBI", 0, 0, 8, 1, 4) + bytes([0, 1, 2, 3]))
open(os.path.join(c, "cifar", "ten"), "wb").write(b"\x00" + (b"\x03" + bytes(3072)) * 2)
open(os.path.join(c, "cifar", "hundred"), "wb").write(b"\x01" + (b"\x05\x42" + bytes(3072)) * 2)
open(os.path.join(c, "thresholds", "t.json"), "w").write('{"schema": "sparsity-explorer/thresholds", "version": 1, '
    '"model": "m.pt", "thresholds": {"relu": 0.25, "layer1.relu#2": 0}, "channel_thresholds": {"relu": [0.1, 0.2]}}')
open(os.path.join(c, "recipe", "r.json"), "w").write('{"schema": "sparsity-explorer/recipe", "version": 1, '
    '"method": "star", "epochs": 2, "band": {"mode": "quantile", "value": 0.3}, "scope": {"mode": "depth", "min": 1, "max": 4}}')
open(os.path.join(c, "project", "p.json"), "w").write('{"schema": "sparsity-explorer/project", "version": 1, '
    '"model": "m.pt", "dataset": {"path": "data", "split": "test", "subset": {"mode": "random", "count": 100, "seed": 3}}, '
    '"preprocessing": {"channels": 1, "height": 28, "width": 28, "resize": "exact", "resize_to": 0, "center_crop": false, '
    '"mean": [0.286], "std": [0.353], "random_crop_padding": 0, "horizontal_flip": false}, '
    '"thresholds": {"relu": 0.5}, "channel_thresholds": {"l.relu": [0.1, 0.2]}, "scope": ["relu"], "bands": {"relu": 0.1}, '
    '"recipe": {}, "processor_preset": "neuronflow-28nm", "heatmap_images": [4, 20]}')
try:  # the smallest real archives: a TorchScript model and a tensor archive (tuned weights, checkpoints)
    import torch
    m = torch.jit.script(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU()))
    m.save(os.path.join(c, "modelarchive", "model.pt"))
    torch.save({"w": torch.ones(3)}, os.path.join(c, "modelarchive", "tensors.pt"))
except ImportError:
    open(os.path.join(c, "modelarchive", "empty.zip"), "wb").write(b"PK\x05\x06" + bytes(18))
PY

cp "$root"/resources/recipes/*.json "$corpus/recipe/"

status=0
for target in $targets; do
  max_len=20000
  [ "$target" = modelarchive ] && max_len=65536
  budget=(-max_total_time="$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && budget=(-runs="$FUZZ_RUNS")
  echo "== fuzz_$target (${budget[*]})"
  if ! "$build/tests/fuzz/fuzz_$target" "${budget[@]}" -max_len="$max_len" -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-$target-" "$corpus/$target" 2>"$build/fuzz_$target.log"; then
    echo "fuzz_$target FAILED; crash input and log in $build (fuzz_$target.log):" >&2
    tail -40 "$build/fuzz_$target.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|Done" "$build/fuzz_$target.log" | tail -4
  fi
done
exit $status
