#!/usr/bin/env bash
# Installs everything NIC needs to build and test on a fresh Debian 12 machine.
# Idempotent: when every package is already present it does nothing and returns in well under a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

APT_PACKAGES=(
  g++ cmake ninja-build pkg-config
  libcurl4-openssl-dev nlohmann-json3-dev libyaml-dev libssl-dev libsqlite3-dev
  libfmt-dev libcxxopts-dev libgtest-dev libgmock-dev libbenchmark-dev libsimdjson-dev
  jq curl python3
  clang libclang-rt-14-dev ccache
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kubectl checks the Kubernetes stand-in's fidelity. The cpp machine image ships it; elsewhere
# Debian's kubernetes-client provides one.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "setup: installing kubectl (Debian kubernetes-client)" >&2
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null || {
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null; }
fi

# Python peers used by the tests: moto_server (real AWS emulator) and jsonschema (schema checks).
# These machines ship them preinstalled; we only check, because PyPI is not reachable here.
if ! python3 -c 'import moto, jsonschema, boto3' 2>/dev/null; then
  echo "setup: python3 modules 'moto', 'boto3' and 'jsonschema' are required (moto_server is the AWS peer)." >&2
  echo "       install them with: pip install 'moto[server]' boto3 jsonschema" >&2
  exit 1
fi

# npm peers (Azurite) are installed into tests/node_modules by scripts/setup-npm.sh when it exists.
if [[ -x "$ROOT/scripts/setup-npm.sh" ]]; then
  "$ROOT/scripts/setup-npm.sh"
fi
