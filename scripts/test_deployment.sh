#!/usr/bin/env bash
# The deployment suite in one command: build → up → verify → down.
#
#   scripts/test_deployment.sh [--compose-file FILE]... [--env-file FILE] [--keep-up]
#                              [any other `prodaudit run` option: --repo, --profile, --only, --output ...]
#
# prodaudit builds the API image and inspects it (DEP-01x), runs `docker compose up --build --wait`
# under a unique project name (DEP-03x: healthy services, /health through the host port, restart
# after a crash, JSON logs without secrets), checks migrations, the database and Redis named in the
# env file (DEP-04x..06x) and the monitoring endpoints (DEP-07x), then always runs
# `docker compose down --volumes` and removes what the run created (everything it creates is
# labelled org.prodaudit.run=<run id>; nothing else is removed). --keep-up leaves the stack running
# for debugging (config key docker.keep_up) and prints the command that stops it.
#
# Base image: docker.base_image / PRODAUDIT_BASE_IMAGE when set; else the Dockerfile's default;
# where no image registry answers, the local base image prodaudit/python-base:bookworm
# (scripts/build-base-image.sh) by itself — DEP-010 says which image it used and why.
# Machines without docker networks (CI): add the host-network override:
#   scripts/test_deployment.sh --compose-file examples/ultra-mvp/docker-compose.yml \
#       --compose-file examples/ultra-mvp/docker-compose.hostnet.yml --env-file deploy.env
#   (deploy.env sets DATABASE_URL, REDIS_URL, JWT_SECRET, ...)
#
# Without a reachable Docker engine the script says so in one line and the image and container
# checks are SKIP ("not verified"), never PASS; the other checks still run.
# Ctrl-C stops the build or `compose up`, tears the stack down and exits 130 without a report;
# what could not be removed in time stays labelled: `prodaudit clean --run-id ID` removes it.
# Exit codes (those of `prodaudit run`): 0 GO, 1 NO-GO, 2 CONDITIONAL GO, 3 the audit could not
# run, 130 interrupted.
set -u
set -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

for arg in "$@"; do
    case "$arg" in
        -h|--help)
            sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
    esac
done

if ! command -v docker >/dev/null 2>&1; then
    echo "test_deployment: no docker CLI installed: image and container checks will be SKIP (not verified)" >&2
elif ! timeout 20 docker info >/dev/null 2>&1; then
    echo "test_deployment: no reachable Docker engine (${DOCKER_HOST:-unix:///var/run/docker.sock}): image and container checks will be SKIP (not verified)" >&2
elif ! timeout 20 docker compose version >/dev/null 2>&1; then
    echo "test_deployment: docker compose (v2 plugin) missing: compose and container checks will be SKIP (not verified)" >&2
fi

export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m prodaudit.cli run --suite deployment "$@"
