#!/usr/bin/env bash
# Build a wheelhouse on the host so that image builds install with --no-index --find-links.
#
#   scripts/build-wheelhouse.sh DIR REQUIREMENTS [PIP_WHEEL_ARGS...]
#
# Runs `python3 -m pip wheel -r REQUIREMENTS -w DIR` with the host's Python (3.11 here, so the
# wheels are cp311/manylinux and install into the bookworm base image, whose python3 is 3.11).
# Set PYTHON=... to use another interpreter. Idempotent: pip reuses the wheels already in DIR.
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: $0 DIR REQUIREMENTS [PIP_WHEEL_ARGS...]" >&2
    exit 2
fi
dir="$1"
req="$2"
shift 2
python="${PYTHON:-python3}"

if [ ! -r "$req" ]; then
    echo "[wheelhouse] requirements file not readable: $req" >&2
    exit 2
fi
mkdir -p "$dir"
t0=$SECONDS
"$python" -m pip wheel --disable-pip-version-check -q -r "$req" -w "$dir" --find-links "$dir" "$@"
count="$(find "$dir" -maxdepth 1 -name '*.whl' | wc -l)"
echo "[wheelhouse] $count wheels in $dir for $("$python" -c 'import sys; print("cp%d%d" % sys.version_info[:2])') in $((SECONDS - t0))s" >&2
