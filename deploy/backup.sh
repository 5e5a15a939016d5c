#!/usr/bin/env bash
# Back up or restore an appraisal ledger: the event store (with its ledger tables and
# checkpoints). A restored copy verifies to the same checkpoint root.
#
#   deploy/backup.sh backup  BACKUP_DIR                 # from $APPRAISAL_DATABASE_URL / $APPRAISAL_DATA_DIR
#   deploy/backup.sh restore BACKUP_DIR                 # into $APPRAISAL_DATABASE_URL / $APPRAISAL_DATA_DIR
#
# PostgreSQL: pg_dump custom format (one consistent snapshot) and pg_restore into an
# existing, empty database (or schema, with ?schema=NAME). SQLite: the online backup
# API, consistent while the server keeps writing.
#
# The log key is never copied: whoever holds the store and the log key together can
# rewrite the ledger and re-sign it, so a backup must not hand over both. Its custodian
# keeps it apart (APPRAISAL_LOG_KEY_FILE; docs/AUDIT.md "Who holds the log key") and gives it to
# a restored server the same way.
set -euo pipefail
# A backup holds every named score and the stored ballots: owner-only files (0600) in
# owner-only directories (0700), as the live store's are.
umask 077

die() { echo "backup.sh: $*" >&2; exit 1; }

command=${1:-}
target=${2:-}
[ -n "$command" ] && [ -n "$target" ] || die "usage: backup.sh backup|restore BACKUP_DIR"

data_dir=${APPRAISAL_DATA_DIR:-./var}
url=${APPRAISAL_DATABASE_URL:-sqlite:///$data_dir/appraisal.sqlite3}
python=${PYTHON:-python3}

db_url=${url%%\?*}
schema=""
case "$url" in
  *\?schema=*) schema=${url##*\?schema=}; schema=${schema%%&*} ;;
esac

sqlite_copy() {
  "$python" - "$1" "$2" <<'PY'
import sqlite3, sys
source, destination = sys.argv[1], sys.argv[2]
with sqlite3.connect(source) as src, sqlite3.connect(destination) as dst:
    src.backup(dst)
PY
}

case "$command" in
  backup)
    mkdir -p "$target"
    chmod 700 "$target"
    case "$url" in
      sqlite:///*)
        sqlite_copy "${url#sqlite:///}" "$target/appraisal.sqlite3"
        echo "sqlite" > "$target/STORE" ;;
      postgres://*|postgresql://*)
        pg_dump --format=custom --no-owner ${schema:+--schema="$schema"} \
          --file="$target/appraisal.dump" "$db_url"
        echo "postgresql ${schema}" > "$target/STORE" ;;
      *) die "unsupported APPRAISAL_DATABASE_URL: $url" ;;
    esac
    echo "backed up to $target" ;;
  restore)
    [ -f "$target/STORE" ] || die "$target is not a backup made by backup.sh"
    mkdir -p "$data_dir"
    chmod 700 "$data_dir"
    read -r kind dumped_schema < "$target/STORE" || true
    case "$kind:$url" in
      sqlite:sqlite:///*)
        destination=${url#sqlite:///}
        [ ! -e "$destination" ] || die "$destination exists: restore into a fresh store"
        sqlite_copy "$target/appraisal.sqlite3" "$destination" ;;
      postgresql:postgres://*|postgresql:postgresql://*)
        [ "${schema:-}" = "${dumped_schema:-}" ] || \
          die "backup is of schema '${dumped_schema:-public}', target URL names '${schema:-public}'"
        pg_restore --no-owner --exit-on-error --dbname="$db_url" "$target/appraisal.dump" ;;
      *) die "a $kind backup cannot be restored into $url" ;;
    esac
    echo "restored from $target; the log key is not in a backup: provide it with APPRAISAL_LOG_KEY_FILE" ;;
  *) die "unknown command '$command' (backup or restore)" ;;
esac
