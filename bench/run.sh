#!/usr/bin/env bash
# NIC's benchmarks against named baselines (issue 9), in one command:
#
#   bench/run.sh
#
# writes bench/RESULTS.md (and the raw numbers to $BENCH_WORK/results.json).
#
# Env:
#   NIC_BINARY      use this nic instead of building one (nic_bench is then taken from
#                   NIC_BENCH_BINARY, else its directory, else built)
#   BENCH_BUILD_DIR where to build (default: build-bench, Release)
#   BENCH_WORK      scratch dir for generated inputs and logs (default: /tmp/nic-bench-work);
#                   generated tfstates and plan inputs are reused between runs
#   BENCH_ONLY      comma list of sections: import,plan,drift,backends,startup (default: all)
#   BENCH_QUICK=1   small sizes only (a smoke test of the harness, not for RESULTS.md)
#   BENCH_KEEP_FROM results.json of an earlier run: with BENCH_ONLY, the other sections are
#                   taken from it (the report says which run each comes from)
#   BENCH_OUT       where to write the report (default: bench/RESULTS.md)
#
# Installs the bench-only Debian packages it needs when missing (hyperfine, libsimdjson-dev,
# valgrind, time, jq, curl), idempotently. Starts and stops its own servers (moto_server, the
# GCS stand-in, Azurite, a recording proxy) on 127.0.0.1 by PID.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BENCH_BUILD_DIR:-$ROOT/build-bench}"
WORK="${BENCH_WORK:-/tmp/nic-bench-work}"
OUT="${BENCH_OUT:-$ROOT/bench/RESULTS.md}"
mkdir -p "$WORK" "$WORK/bin"

# ---- bench-only packages -------------------------------------------------------------------
PKGS=(hyperfine libsimdjson-dev valgrind time jq curl g++)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
python3 -c 'import moto, boto3' || { echo "bench: python3 modules moto and boto3 are needed (scripts/setup.sh)" >&2; exit 1; }

# ---- nic and nic_bench -----------------------------------------------------------------------
BUILD_TYPE=""
beside_bench() {  # nic_bench of the build tree NIC_BINARY comes from, if any
  local d; d="$(dirname "$1")"
  for c in "$d/bench/nic_bench" "$d/nic_bench"; do [[ -x "$c" ]] && { echo "$c"; return; }; done
}
NIC_BENCH="${NIC_BENCH_BINARY:-}"
[[ -z "$NIC_BENCH" && -n "${NIC_BINARY:-}" ]] && NIC_BENCH="$(beside_bench "$NIC_BINARY")"
if [[ -z "${NIC_BINARY:-}" || -z "$NIC_BENCH" ]]; then
  [[ -f "$BUILD/CMakeCache.txt" ]] || cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DNIC_WERROR=OFF -DNIC_TESTS_NEED_BINARY=OFF >/dev/null
  targets=(nic_bench)
  [[ -z "${NIC_BINARY:-}" ]] && targets+=(nic)
  echo "bench: building ${targets[*]} in $BUILD" >&2
  ninja -C "$BUILD" -j"$(nproc)" "${targets[@]}" >/dev/null
  if [[ -z "$NIC_BENCH" ]]; then NIC_BENCH="$BUILD/bench/nic_bench"; fi
fi
NIC="${NIC_BINARY:-$BUILD/nic}"
cache="$(dirname "$NIC")/CMakeCache.txt"
[[ -f "$cache" ]] && BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$cache")"
[[ -z "$BUILD_TYPE" && -f "$cache" ]] && BUILD_TYPE="default (see CMakeLists.txt)"

# ---- the two floors --------------------------------------------------------------------------
if [[ ! -x "$WORK/bin/simdjson_floor" || "$ROOT/bench/simdjson_floor.cpp" -nt "$WORK/bin/simdjson_floor" ]]; then
  g++ -O2 -std=c++17 "$ROOT/bench/simdjson_floor.cpp" -lsimdjson -o "$WORK/bin/simdjson_floor"
fi
if [[ ! -x "$WORK/bin/fsync_floor" || "$ROOT/bench/fsync_floor.c" -nt "$WORK/bin/fsync_floor" ]]; then
  cc -O2 -Wall "$ROOT/bench/fsync_floor.c" -o "$WORK/bin/fsync_floor"
fi

args=(--nic "$NIC" --nic-bench "$NIC_BENCH" --simdjson-floor "$WORK/bin/simdjson_floor"
      --fsync-floor "$WORK/bin/fsync_floor" --work "$WORK" --out "$OUT" --build-type "$BUILD_TYPE")
[[ -n "${BENCH_ONLY:-}" ]] && args+=(--only "$BENCH_ONLY")
[[ -n "${BENCH_KEEP_FROM:-}" ]] && args+=(--keep-from "$BENCH_KEEP_FROM")
[[ "${BENCH_QUICK:-0}" == 1 ]] && args+=(--quick)
exec python3 "$ROOT/bench/harness.py" "${args[@]}"
