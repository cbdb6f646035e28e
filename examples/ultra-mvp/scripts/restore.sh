#!/usr/bin/env bash
# Restore an ultra-mvp dump made by scripts/backup.sh into a PostgreSQL database.
#
#   scripts/restore.sh DUMP TARGET_URL            # e.g. a scratch database for the restore test
#   scripts/restore.sh --replace DUMP TARGET_URL  # production recovery: drops existing objects
#   scripts/restore.sh --replace DUMP             # the compose stack's postgres service
#
# TARGET_URL: postgresql://USER:PASSWORD@HOST:5432/DB (postgresql+psycopg:// is accepted).
# Without it the tools run inside the compose postgres service (COMPOSE_FILE, POSTGRES_USER,
# POSTGRES_DB as for backup.sh) and read the dump from stdin. The database must exist. Without --replace the target must be empty, so a mistyped URL cannot
# overwrite production. After the restore, the schema revision and row counts are printed:
# compare them with the source, then point DATABASE_URL at it (the API runs `alembic upgrade
# head` at start-up when the dump is older than the code).
# Exit status: 0 when the restore and its checks succeeded.
set -euo pipefail

replace=no
if [ "${1:-}" = "--replace" ]; then replace=yes; shift; fi
[ "$#" -eq 1 ] || [ "$#" -eq 2 ] || { echo "usage: $0 [--replace] DUMP [TARGET_URL]" >&2; exit 2; }
dump="$1"
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$#" -eq 2 ]; then
    url="${2/postgresql+psycopg:\/\//postgresql://}"
    pg() { "$@"; }
    target_args=(--dbname="$url")
else
    compose=(docker compose -f "${COMPOSE_FILE:-$here/docker-compose.yml}")
    pg() { "${compose[@]}" exec -T postgres "$@"; }
    target_args=(-U "${POSTGRES_USER:-ultra}" --dbname="${POSTGRES_DB:-ultra}")
fi
sql() { pg psql "${target_args[@]}" -XAtc "$1"; }

log() { printf '{"timestamp":"%s","level":"%s","logger":"restore","message":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2"; }
fail() { log ERROR "$1"; exit 1; }

[ -r "$dump" ] || fail "dump not readable: $dump"
if [ -r "$dump.sha256" ]; then
    (cd "$(dirname "$dump")" && sha256sum --check --quiet "$(basename "$dump").sha256") \
        || fail "checksum mismatch: $dump"
fi
pg pg_restore --list < "$dump" > /dev/null || fail "not a pg_dump custom-format file: $dump"

tables="$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" \
    || fail "cannot connect to the target database"
if [ "$tables" != "0" ] && [ "$replace" = no ]; then
    fail "the target database is not empty ($tables tables): use --replace to overwrite it"
fi

args=(--no-owner --no-privileges --exit-on-error --single-transaction "${target_args[@]}")
if [ "$replace" = yes ]; then args+=(--clean --if-exists); fi
pg pg_restore "${args[@]}" < "$dump" || fail "pg_restore failed (nothing was changed: single transaction)"

revision="$(sql "SELECT version_num FROM alembic_version")"
users="$(sql "SELECT count(*) FROM users")"
notes="$(sql "SELECT count(*) FROM notes")"
log INFO "restored $dump: alembic revision $revision, $users users, $notes notes"
