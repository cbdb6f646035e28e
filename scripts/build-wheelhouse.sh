#!/usr/bin/env bash
# Build a wheelhouse on the host so that image builds install with --no-index --find-links.
#
#   scripts/build-wheelhouse.sh [--image TAG | --no-image-check] DIR REQUIREMENTS [PIP_WHEEL_ARGS...]
#
# 1. `python3 -m pip wheel -r REQUIREMENTS -w DIR` with the host's Python (3.11 here: cp311 and
#    manylinux wheels, which install into the bookworm base image, whose python3 is 3.11).
# 2. Check the wheelhouse inside the image that will install it (offline, --network none): the
#    image's interpreter evaluates environment markers itself, and they can differ from the
#    host's (bookworm's python3 is 3.11.2, so `redis` needs async-timeout there and not on a host
#    with 3.11.7). Each distribution reported missing is built on the host and the check runs
#    again, at most 5 rounds. TAG defaults to prodaudit/python-base:bookworm when that image
#    exists and the engine answers; --no-image-check skips the step.
# Set PYTHON=... to use another host interpreter. Idempotent: pip reuses the wheels in DIR.
set -euo pipefail

DEFAULT_IMAGE=prodaudit/python-base:bookworm
MAX_ROUNDS=5

say() { printf '[wheelhouse] %s\n' "$*" >&2; }
usage() {
    echo "usage: $0 [--image TAG | --no-image-check] DIR REQUIREMENTS [PIP_WHEEL_ARGS...]" >&2
    exit 2
}

image=""
check=auto
while [ "$#" -gt 0 ]; do
    case "$1" in
        --image) [ "$#" -ge 2 ] || usage; image="$2"; check=yes; shift 2 ;;
        --no-image-check) check=no; shift ;;
        --) shift; break ;;
        -*) usage ;;
        *) break ;;
    esac
done
[ "$#" -ge 2 ] || usage
dir="$1"
req="$2"
shift 2
python="${PYTHON:-python3}"

if [ ! -r "$req" ]; then
    say "requirements file not readable: $req"
    exit 2
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
req="$(cd "$(dirname "$req")" && pwd)/$(basename "$req")"

pip_wheel() {
    # pip's "Location ... is ignored" notices come from machine-wide extra indexes: drop them.
    local log rc=0
    log="$(mktemp)"
    "$python" -m pip wheel --disable-pip-version-check -q -w "$dir" --find-links "$dir" "$@" \
        >"$log" 2>&1 || rc=$?
    grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
    rm -f "$log"
    return "$rc"
}

t0=$SECONDS
pip_wheel -r "$req" "$@"

if [ "$check" = auto ]; then
    if timeout 10 docker info >/dev/null 2>&1 && docker image inspect "$DEFAULT_IMAGE" >/dev/null 2>&1; then
        image="$DEFAULT_IMAGE"
        check=yes
    else
        check=no
        say "no image check ($DEFAULT_IMAGE not available); the wheels match the host's interpreter"
    fi
fi

if [ "$check" = yes ]; then
    round=1
    while :; do
        out="$(docker run --rm --network none \
            -v "$dir:/wheels:ro" -v "$req:/requirements.txt:ro" --entrypoint /bin/sh "$image" -c \
            'python3 -m venv /tmp/v && /tmp/v/bin/python -m pip install -q --disable-pip-version-check \
                --no-index --find-links /wheels --dry-run -r /requirements.txt' 2>&1)" && break
        missing="$(printf '%s\n' "$out" | sed -n 's/^ERROR: No matching distribution found for \(.*\)$/\1/p' \
            | sed 's/;.*$//' | sed 's/[[:space:]]*$//')"
        if [ -z "$missing" ] || [ "$round" -ge "$MAX_ROUNDS" ]; then
            say "the wheelhouse does not install in $image:"
            printf '%s\n' "$out" | tail -n 15 >&2
            exit 1
        fi
        say "round $round: $image also needs: $(printf '%s' "$missing" | tr '\n' ' ')"
        while IFS= read -r spec; do
            [ -n "$spec" ] && pip_wheel "$spec"
        done <<<"$missing"
        round=$((round + 1))
    done
    say "installs offline in $image"
fi

count="$(find "$dir" -maxdepth 1 -name '*.whl' | wc -l)"
say "$count wheels in $dir ($("$python" -c 'import sys; print("cp%d%d" % sys.version_info[:2])') host) in $((SECONDS - t0))s"
