#!/usr/bin/env bash
# Installs the npm test peers (Azurite, the Azure Blob emulator) into tests/node_modules.
# Idempotent: when the pinned version is already installed it returns at once.
# Azurite 3.36+ needs node >= 21; 3.35.0 is the newest that runs on Debian 12's node 20.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TESTS="$ROOT/tests"
AZURITE_VERSION="3.35.0"

installed_version() {
  local pj="$TESTS/node_modules/azurite/package.json"
  [[ -f "$pj" ]] || return 0
  node -e 'process.stdout.write(require(process.argv[1]).version)' "$pj" 2>/dev/null || true
}

if [[ "$(installed_version)" == "$AZURITE_VERSION" && -x "$TESTS/node_modules/.bin/azurite-blob" ]]; then
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "setup-npm: npm is required to install Azurite (apt-get install nodejs npm)." >&2
  exit 1
fi

echo "setup-npm: installing azurite@$AZURITE_VERSION into $TESTS/node_modules" >&2
# --prefix installs into tests/node_modules without needing a package.json in the repo;
# --no-save keeps npm from writing one.
npm install --prefix "$TESTS" --no-save --no-audit --no-fund --loglevel=error \
  "azurite@$AZURITE_VERSION" >&2

if [[ "$(installed_version)" != "$AZURITE_VERSION" ]]; then
  echo "setup-npm: azurite@$AZURITE_VERSION did not install correctly" >&2
  exit 1
fi
