#!/usr/bin/env bash
# Builds NIC and runs every test: the C++ suites (ctest) and the Python-side checks, each of
# which starts its own peers (moto_server, Azurite, tests/servers/*) on 127.0.0.1.
# Usage: scripts/test.sh [extra ctest args]     (e.g. -L unit, -R backend_s3, -L soak)
# NIC_BUILD_DIR (default build), NIC_SANITIZE=1 for an ASan+UBSan build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh

BUILD="${NIC_BUILD_DIR:-build}"
SAN=OFF
if [[ "${NIC_SANITIZE:-0}" == "1" ]]; then SAN=ON; BUILD="${NIC_BUILD_DIR:-build-asan}"; fi

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNIC_SANITIZE="$SAN" >/dev/null
ninja -C "$BUILD" -j"$(nproc)"

export NIC_SHARED_DIR="${NIC_SHARED_DIR:-$ROOT/../shared}"
cd "$BUILD"
# The long reliability variants (label soak) run only when asked for: scripts/test.sh -L soak.
case " $* " in *soak*) ;; *) set -- -LE soak "$@" ;; esac
ctest --output-on-failure -j"$(nproc)" "$@"
