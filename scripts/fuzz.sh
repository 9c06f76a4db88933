#!/usr/bin/env bash
# Builds NIC's libFuzzer targets (tests/fuzz/fuzz_*.cpp) with clang, ASan and UBSan in their own
# build directory (build-asan) and runs each for a fixed time, one after the other.
#
# Usage: scripts/fuzz.sh [seconds-per-target] [target ...]
#   scripts/fuzz.sh               # 20 s per target (what scripts/test.sh runs in CI)
#   scripts/fuzz.sh 600           # the longer run: 10 min per target
#   scripts/fuzz.sh 300 fuzz_xml  # one target
# NIC_FUZZ_BUILD_DIR (default build-asan, shared with the sanitizer test suite). Seeds are gathered at run time from
# tests/fuzz/corpus/<target>/ (small hand-made inputs), tests/fixtures and ../shared/testdata into
# $BUILD/seeds/<target>; what the fuzzer learns is kept in $BUILD/corpus/<target> across runs.
# A crash, leak or UB report stops that target, its input is saved as $BUILD/crashes/<target>/*,
# and the script exits 1 after running the others. Reproduce with: $BUILD/tests/fuzz/<target> FILE
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECONDS_PER_TARGET="${1:-20}"
shift || true
BUILD="${NIC_FUZZ_BUILD_DIR:-build-asan}"
SHARED="${NIC_SHARED_DIR:-$ROOT/../shared}"

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
# The same sanitizer build directory as stage 2 of scripts/test.sh (clang, ASan + UBSan).
# NIC_FUZZ_SKIP_BUILD=1 runs the targets already built (e.g. while that directory is rebuilding).
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
if [[ "${NIC_FUZZ_SKIP_BUILD:-0}" != "1" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNIC_SANITIZE=ON \
    -DNIC_FUZZ=ON -DNIC_WERROR=OFF -DNIC_BUILD_BENCH=OFF -DNIC_TESTS_NEED_BINARY=OFF "${launcher[@]}" >/dev/null
  ninja -C "$BUILD" "${targets[@]}"
fi

# Seed files per target: hand-made ones plus the project's fixtures and the shared test data.
seed_sources() {
  local t="$1"
  case "$t" in
    fuzz_tfstate) ls tests/fixtures/tfstate/*.tfstate "$SHARED"/testdata/tfstates-real/*.json 2>/dev/null ;;
    fuzz_config) ls tests/fixtures/tfstate/*.yaml "$SHARED"/testdata/nebari-configs/*.yaml 2>/dev/null ;;
    fuzz_aws_error | fuzz_azure_blob) ls tests/fuzz/corpus/fuzz_xml/* ;;
  esac
  return 0
}

failed=()
for t in "${targets[@]}"; do
  seeds="$BUILD/seeds/$t" corpus="$BUILD/corpus/$t" crashes="$BUILD/crashes/$t"
  mkdir -p "$seeds" "$corpus" "$crashes"
  if [[ -d "tests/fuzz/corpus/$t" ]]; then cp -f tests/fuzz/corpus/"$t"/* "$seeds"/ 2>/dev/null || true; fi
  while read -r f; do [[ -n "$f" ]] && cp -f "$f" "$seeds"/; done < <(seed_sources "$t")
  if [[ "$t" == fuzz_state && -f "$SHARED/seeds/nic-design-document.md" ]]; then
    # The design's state example (§14.2), cut out of the document.
    awk '/### 14.2 State File Example/{f=1} f&&/```json/{p=1;next} p&&/```/{exit} p' \
      "$SHARED/seeds/nic-design-document.md" >"$seeds/design-14.2.json"
  fi
  log="$BUILD/fuzz-$t.log"
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s (seeds: $(ls "$seeds" | wc -l), corpus: $(ls "$corpus" | wc -l))" >&2
  # -rss_limit_mb bounds memory per input as well as overall; -timeout flags an input that hangs.
  if "$BUILD/tests/fuzz/$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
       -max_len=262144 -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "$seeds" >"$log" 2>&1; then
    echo "fuzz: $t ok: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') executions," \
         "$(grep -E '^stat::new_units_added' "$log" | awk '{print $2}') new corpus units" >&2
  else
    echo "fuzz: $t FAILED; log $log, input in $crashes/:" >&2
    grep -E 'ERROR: |runtime error|SUMMARY' "$log" | head -5 >&2 || true
    failed+=("$t")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: findings in: ${failed[*]}" >&2
  exit 1
fi
