#!/usr/bin/env bash
# Build the local base image that test images use instead of a registry's python image.
#
#   scripts/build-base-image.sh [TAG]          default TAG: prodaudit/python-base:bookworm
#   scripts/build-base-image.sh --busybox [TAG] default TAG: prodaudit/busybox:static
#
# Python base: debootstrap --variant=minbase bookworm with python3 (3.11), venv, pip and CA
# certificates from Debian's archive, then `docker import`. Busybox: a FROM-scratch image holding
# Debian's busybox-static binary (httpd, wget, sh) — a 2 MB healthcheck target.
# Exits 0 at once when the image already exists (cached). Needs root (or sudo) and a running engine.
set -euo pipefail

MIRROR="${PRODAUDIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
PATH_ENV='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo -n); fi

say() { printf '[base-image] %s\n' "$*" >&2; }

need_docker() {
    if ! timeout 10 docker info >/dev/null 2>&1; then
        say "the docker engine is not answering: run scripts/services.sh up docker"
        exit 1
    fi
}

apt_ensure() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/tmp/prodaudit-apt.log 2>&1 || {
        say "apt-get install ${missing[*]} failed (log: /tmp/prodaudit-apt.log)"
        return 1
    }
}

build_busybox() {
    local tag="$1" dir
    apt_ensure busybox-static
    dir="$(mktemp -d /tmp/prodaudit-busybox.XXXXXX)"
    # shellcheck disable=SC2064  # expand $dir now: it is local
    trap "rm -rf '$dir'" EXIT
    mkdir -p "$dir/bin" "$dir/www" "$dir/tmp"
    cp /bin/busybox "$dir/bin/busybox"
    local applet
    for applet in sh httpd wget ls cat echo sleep; do ln -s busybox "$dir/bin/$applet"; done
    echo ok >"$dir/www/index.html"
    tar -C "$dir" -c . | docker import \
        --change "ENV $PATH_ENV" \
        --change 'CMD ["/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/www"]' \
        - "$tag" >/dev/null
}

build_python_base() {
    local tag="$1" dir
    apt_ensure debootstrap
    dir="$(mktemp -d /tmp/prodaudit-rootfs.XXXXXX)"
    # shellcheck disable=SC2064  # expand $dir now: it is local
    trap "${SUDO[*]} rm -rf '$dir'" EXIT
    "${SUDO[@]}" debootstrap --variant=minbase \
        --include=python3,python3-venv,python3-pip,ca-certificates \
        "$SUITE" "$dir" "$MIRROR" >/tmp/prodaudit-debootstrap.log 2>&1 || {
        say "debootstrap failed (log: /tmp/prodaudit-debootstrap.log):"
        tail -n 20 /tmp/prodaudit-debootstrap.log >&2
        exit 1
    }
    # Slim the tree: package lists, caches and docs are not needed at run time.
    "${SUDO[@]}" rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
        "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/*
    "${SUDO[@]}" tar --numeric-owner -C "$dir" -c . | docker import \
        --change "ENV $PATH_ENV" \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        - "$tag" >/dev/null
}

main() {
    local kind=python
    if [ "${1:-}" = "--busybox" ]; then kind=busybox; shift; fi
    local tag
    if [ "$kind" = busybox ]; then tag="${1:-prodaudit/busybox:static}"; else tag="${1:-prodaudit/python-base:bookworm}"; fi
    need_docker
    if docker image inspect "$tag" >/dev/null 2>&1; then
        say "$tag exists (cached)"
        exit 0
    fi
    local t0=$SECONDS
    if [ "$kind" = busybox ]; then build_busybox "$tag"; else build_python_base "$tag"; fi
    if [ "$kind" = python ]; then
        local version
        version="$(docker run --rm --network none "$tag" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        say "$tag built in $((SECONDS - t0))s (python $version)"
    else
        say "$tag built in $((SECONDS - t0))s"
    fi
}

main "$@"
