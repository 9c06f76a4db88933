#!/usr/bin/env bash
# Builds NIC and runs every test: the C++ suites (ctest) and the Python-side checks, each of
# which starts its own peers (moto_server, Azurite, tests/servers/*) on 127.0.0.1.
# Usage: scripts/test.sh [extra ctest args]     (e.g. -L unit, -R backend_s3, -L soak)
#
# Without arguments (what CI runs) there are three stages:
#   1. every suite in build/ (NIC_BUILD_DIR) except the long reliability variants (label soak);
#   2. the unit-labelled suites again under ASan + UBSan in build-asan/ (clang);
#   3. each libFuzzer target for NIC_FUZZ_SECONDS (default 20) s: scripts/fuzz.sh, same build-asan/.
# With ctest arguments only stage 1 runs, with them (`-L soak` runs the long variants). NIC_SANITIZE=1
# runs that one stage in build-asan instead. NIC_TEST_STAGES=1 limits a run without arguments to stage 1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
export NIC_SHARED_DIR="${NIC_SHARED_DIR:-$ROOT/../shared}"

# The sanitizer build directory: clang with ASan + UBSan (and libFuzzer's coverage, so the fuzz
# targets of stage 3 come from the same objects). scripts/fuzz.sh configures it the same way.
configure_sanitizer_build() {
  CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNIC_SANITIZE=ON \
    -DNIC_FUZZ=ON -DNIC_WERROR=OFF -DNIC_BUILD_BENCH=OFF -DNIC_TESTS_NEED_BINARY=OFF "${launcher[@]}" >/dev/null
}
# Leaks, memory errors and undefined behaviour fail the test.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

if [[ "${NIC_SANITIZE:-0}" == "1" ]]; then
  configure_sanitizer_build
  ninja -C build-asan -j"$(nproc)"
  (cd build-asan && ctest --output-on-failure -j"$(nproc)" "$@")
  exit 0
fi

all_stages=0
if (($# == 0)) && [[ "${NIC_TEST_STAGES:-3}" != "1" ]]; then all_stages=1; fi
# The long reliability variants (label soak) run only when asked for: scripts/test.sh -L soak.
case " $* " in *soak*) ;; *) set -- -LE soak "$@" ;; esac

BUILD="${NIC_BUILD_DIR:-build}"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNIC_SANITIZE=OFF "${launcher[@]}" >/dev/null
ninja -C "$BUILD" -j"$(nproc)"
(cd "$BUILD" && ctest --output-on-failure -j"$(nproc)" "$@")

if ((all_stages)); then
  echo "test: stage 2: unit suites under ASan + UBSan (build-asan)" >&2
  # Only the unit suites' executables (and the fuzz targets) are built with the sanitizers; the
  # few CLI checks inside them run stage 1's nic binary (NIC_BINARY).
  configure_sanitizer_build
  ninja -C build-asan -j"$(nproc)" test_core test_config test_http test_importer fuzz_all
  nic_binary="$(cd "$BUILD" && pwd)/nic"
  (cd build-asan && NIC_BINARY="$nic_binary" ctest --output-on-failure -j"$(nproc)" -L unit)
  echo "test: stage 3: libFuzzer targets, ${NIC_FUZZ_SECONDS:-20} s each (build-asan)" >&2
  bash scripts/fuzz.sh "${NIC_FUZZ_SECONDS:-20}"
fi
