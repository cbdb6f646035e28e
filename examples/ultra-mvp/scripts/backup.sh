#!/usr/bin/env bash
# Back up the ultra-mvp PostgreSQL database: pg_dump custom format, verified, checksummed,
# optionally copied off-host, old dumps pruned.
#
#   scripts/backup.sh                       # compose stack: dumps through the postgres service
#   DATABASE_URL=postgresql://... scripts/backup.sh   # any reachable server, with local pg_dump
#
# Environment:
#   BACKUP_DIR             where dumps go (default /var/backups/ultra-mvp)
#   BACKUP_RETENTION_DAYS  dumps older than this are deleted (default 14)
#   BACKUP_S3_URI          optional off-host copy, e.g. s3://ultra-mvp-backups/postgres
#                          (needs the aws CLI and credentials from the instance role/profile)
#   DATABASE_URL           connect directly instead of `docker compose exec postgres`
#   COMPOSE_FILE, POSTGRES_USER, POSTGRES_DB   compose mode (defaults: docker-compose.yml, ultra)
# Redis is not backed up: it holds only rate-limit counters, lockouts and the token denylist
# (see docs/backup-and-recovery.md). Scheduled by scripts/ultra-mvp-backup.cron.
# Exit status: 0 on success; non-zero when the dump, its verification or the copy failed.
set -euo pipefail
umask 077

BACKUP_DIR="${BACKUP_DIR:-/var/backups/ultra-mvp}"
RETENTION_DAYS="${BACKUP_RETENTION_DAYS:-14}"
here="$(cd "$(dirname "$0")/.." && pwd)"

log() { printf '{"timestamp":"%s","level":"%s","logger":"backup","message":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2"; }
fail() { log ERROR "$1"; exit 1; }

case "$RETENTION_DAYS" in ''|*[!0-9]*) fail "BACKUP_RETENTION_DAYS must be a whole number of days" ;; esac
mkdir -p "$BACKUP_DIR"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$BACKUP_DIR/ultra-mvp-$stamp.dump"
partial="$target.partial"
trap 'rm -f "$partial"' EXIT

if [ -n "${DATABASE_URL:-}" ]; then
    # the application's SQLAlchemy URL, as libpq understands it
    url="${DATABASE_URL/postgresql+psycopg:\/\//postgresql://}"
    case "$url" in postgresql://*|postgres://*) ;; *) fail "DATABASE_URL is not a PostgreSQL URL" ;; esac
    pg() { "$@"; }
    source_args=(--dbname="$url")
else
    # the compose postgres service publishes no port: run the tools inside it
    compose=(docker compose -f "${COMPOSE_FILE:-$here/docker-compose.yml}")
    pg() { "${compose[@]}" exec -T postgres "$@"; }
    source_args=(-U "${POSTGRES_USER:-ultra}" "${POSTGRES_DB:-ultra}")
fi
pg pg_dump --format=custom --no-owner --no-privileges "${source_args[@]}" > "$partial" \
    || fail "pg_dump failed"

# A dump that pg_restore cannot list is not a backup.
listing="$(pg pg_restore --list < "$partial")" || fail "the dump is unreadable (pg_restore --list)"
grep -qE '^[0-9]+; [0-9]+ [0-9]+ TABLE public users ' <<< "$listing" \
    || fail "the dump has no users table"
mv "$partial" "$target"
sha256sum "$target" > "$target.sha256"
size="$(stat -c %s "$target")"
log INFO "backup written: $target ($size bytes)"

if [ -n "${BACKUP_S3_URI:-}" ]; then
    for file in "$target" "$target.sha256"; do
        aws s3 cp --only-show-errors "$file" "$BACKUP_S3_URI/$(basename "$file")" \
            || fail "off-host copy to $BACKUP_S3_URI failed (the local dump is kept)"
    done
    log INFO "backup copied to $BACKUP_S3_URI"
fi

# Retention: local dumps only (the bucket has its own lifecycle rule, see the docs).
pruned=0
while IFS= read -r -d '' old; do
    rm -f "$old" "$old.sha256"
    pruned=$((pruned + 1))
done < <(find "$BACKUP_DIR" -maxdepth 1 -name 'ultra-mvp-*.dump' -mtime "+$RETENTION_DAYS" -print0)
log INFO "retention: $pruned dump(s) older than $RETENTION_DAYS days deleted"
