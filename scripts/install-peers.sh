#!/usr/bin/env bash
# Peer tools the comparison tests measure prodaudit against (not prodaudit dependencies):
# the MDN HTTP Observatory CLI (npm). Idempotent. Prints `export` lines for the tests.
#   bash scripts/install-peers.sh            install (if missing) and print the env
set -uo pipefail
dir="${PRODAUDIT_PEERS_DIR:-/opt/prodaudit-peers}"
scan="$dir/node_modules/.bin/mdn-http-observatory-scan"
if [ ! -x "$scan" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-peers: npm not found; the Observatory comparison cannot run" >&2
    exit 1
  fi
  mkdir -p "$dir"
  # its install scripts download data from the internet: skip them, then give it an empty
  # HSTS preload list (TOOL-NOTES.md)
  if ! (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
        @mdn/mdn-http-observatory >&2); then
    echo "install-peers: npm install @mdn/mdn-http-observatory failed" >&2
    exit 1
  fi
  conf="$dir/node_modules/@mdn/mdn-http-observatory/conf"
  mkdir -p "$conf" && echo '{}' > "$conf/hsts-preload.json"
fi
echo "export PRODAUDIT_OBSERVATORY=$scan"
