#!/usr/bin/env bash
# Short libFuzzer run of the dataset parsers (IDX, CIFAR): configures a separate clang build, builds the
# fuzz targets only, and runs each for FUZZ_SECONDS (default 20). Not part of ctest; see docs/datasets.md.
#   scripts/fuzz-smoke.sh [build-dir]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/fuzz}"
seconds="${FUZZ_SECONDS:-20}"

command -v clang++ >/dev/null || { echo "fuzz-smoke: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSPARSITY_BUILD_FUZZERS=ON -DSPARSITY_BUILD_TRAINER=OFF -DSPARSITY_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target fuzz_idx fuzz_cifar -j2

# Seed corpora: a valid small file of each kind, so the fuzzer starts from real structure.
corpus="$build/fuzz-corpus"
mkdir -p "$corpus/idx" "$corpus/cifar"
python3 - "$corpus" <<'PY'
import struct, sys, os
c = sys.argv[1]
open(os.path.join(c, "idx", "images"), "wb").write(struct.pack(">BBBBIII", 0, 0, 8, 3, 2, 3, 3) + bytes(range(18)))
open(os.path.join(c, "idx", "labels"), "wb").write(struct.pack(">BBBBI", 0, 0, 8, 1, 4) + bytes([0, 1, 2, 3]))
open(os.path.join(c, "cifar", "ten"), "wb").write(b"\x00" + (b"\x03" + bytes(3072)) * 2)
open(os.path.join(c, "cifar", "hundred"), "wb").write(b"\x01" + (b"\x05\x42" + bytes(3072)) * 2)
PY

status=0
for target in idx cifar; do
  echo "== fuzz_$target for ${seconds}s"
  if ! "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=20000 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz-$target-" "$corpus/$target" 2>"$build/fuzz_$target.log"; then
    echo "fuzz_$target FAILED; crash input and log in $build (fuzz_$target.log):" >&2
    tail -40 "$build/fuzz_$target.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|Done" "$build/fuzz_$target.log" | tail -2
  fi
done
exit $status
