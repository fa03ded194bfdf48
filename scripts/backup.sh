#!/usr/bin/env bash
# A dump of the PostgreSQL database of DATABASE_URL (pg_dump, custom format) into a directory, named by its UTC time,
# with a JSON beside it: the alembic version and the row counts of the main tables *in the dump's own snapshot*
# (what scripts/restore-check.sh compares a restore with), the dump's size and SHA-256. Keeps the newest K dumps.
#
#   scripts/backup.sh [--dir DIR] [--keep K]      prints the path of the new dump on stdout
#
#   DATABASE_URL           SQLAlchemy style, postgresql+psycopg://user:password@host:port/db (the driver is dropped)
#   OUTREACH_BACKUP_DIR    default var/backups (production: /var/backups/outreach, docs/deploy.md)
#   OUTREACH_BACKUP_KEEP   default 14
#   OUTREACH_PG_BIN        the directory of pg_dump/psql; default /usr/lib/postgresql/<server's major>/bin
#
# Exits non-zero on any failure and then keeps the older dumps. Never prints the password: it reaches libpq in a
# temporary password file (mode 0600), never on a command line. The dumps hold personal data: files are 0600.
set -euo pipefail
export LC_ALL=C
umask 077
trap '' PIPE  # a psql that died makes a write fail (and the script say why) instead of killing the script
cd "$(dirname "$0")/.."

say() { printf '[backup] %s\n' "$*" >&2; }
die() { printf '[backup] FAILED: %s\n' "$*" >&2; exit 1; }

DIR=${OUTREACH_BACKUP_DIR:-var/backups}
KEEP=${OUTREACH_BACKUP_KEEP:-14}
while [ $# -gt 0 ]; do
  case $1 in
    --dir) DIR=${2:?--dir needs a directory}; shift 2 ;;
    --keep) KEEP=${2:?--keep needs a number}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--dir DIR] [--keep K]" >&2; exit 2 ;;
  esac
done
[[ $KEEP =~ ^[1-9][0-9]*$ ]] || { echo "[backup] --keep / OUTREACH_BACKUP_KEEP must be a number >= 1" >&2; exit 2; }
[ -n "${DATABASE_URL:-}" ] || { echo "[backup] DATABASE_URL is not set" >&2; exit 2; }

# The tables whose row counts are written beside the dump (those that exist; rasa.events once Rasa has run).
COUNTED="public.resident public.appointment public.outbox_message public.event public.audit_log public.screening
public.screening_right public.handoff public.campaign_delivery public.staff rasa.events"

# ------------------------------------------------------------------ connection
# shellcheck source=scripts/lib/pg-connection.sh
. "$(dirname "$0")/lib/pg-connection.sh"

# ------------------------------------------------------------------ end of the connection block

use_url "$DATABASE_URL"
pg_bin
mkdir -p "$DIR" || die "cannot create $DIR"
chmod 700 "$DIR"
exec 9>"$DIR/.backup.lock"
flock -n 9 || die "another backup is writing into $DIR"
find "$DIR" -maxdepth 1 -name 'outreach-*.partial' -delete  # left by a run that was killed

stamp=$(date -u +%Y%m%dT%H%M%SZ)
while [ -e "$DIR/outreach-$stamp.dump" ]; do sleep 1; stamp=$(date -u +%Y%m%dT%H%M%SZ); done
name="outreach-$stamp"
dump="$DIR/$name.dump"
started=$SECONDS

# One read-only transaction holds a snapshot: the counts are read in it and pg_dump dumps exactly it.
mkfifo "$TMP/to_psql" "$TMP/from_psql"
"$BIN/psql" -X -w -q -A -t -F $'\t' -v ON_ERROR_STOP=1 <"$TMP/to_psql" >"$TMP/from_psql" 2>&1 &
psql_pid=$!
exec {SNAP_IN}>"$TMP/to_psql" {SNAP_OUT}<"$TMP/from_psql"
MARK="__outreach_backup_${RANDOM}${RANDOM}__"
query() {  # $1: SQL in the snapshot's transaction; prints its rows; returns 1 with psql's error on stdout
  printf '%s\n\\echo %s\n' "$1" "$MARK" 1>&"$SNAP_IN" 2>/dev/null || return 1
  local line
  while IFS= read -r -t 300 line <&"$SNAP_OUT"; do
    [ "$line" = "$MARK" ] && return 0
    printf '%s\n' "$line"
  done
  return 1
}
query 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;' >"$TMP/q.out" \
  || die "cannot open a transaction as $(where): $(head -n 3 "$TMP/q.out" | tr '\n' ' ')"
snapshot=$(query 'SELECT pg_export_snapshot();') || die "cannot export a snapshot: $snapshot"
server_version=$(query 'SHOW server_version;') || die "$server_version"
alembic=$(query "SELECT coalesce(string_agg(version_num, ',' ORDER BY version_num), '')
                 FROM alembic_version;") || die "no alembic_version table: is this the outreach database? ($alembic)"
[ -n "$alembic" ] || die "alembic_version is empty: run \`outreach db upgrade\` first"
list=""
for table in $COUNTED; do list+="${list:+,}'$table'"; done
# count(*) of each table that exists, in one statement (query_to_xml runs the dynamic count in this snapshot)
counts=$(query "SELECT t, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', t), false, true, '')))[1]::text
                FROM unnest(ARRAY[$list]) AS t WHERE to_regclass(t) IS NOT NULL ORDER BY t;") \
  || die "cannot count the rows: $counts"

"$BIN/pg_dump" -w --format=custom --snapshot="$snapshot" --lock-wait-timeout=120s --file="$dump.partial" \
  2>"$TMP/pg_dump.err" || die "pg_dump of $(where): $(head -n 5 "$TMP/pg_dump.err" | tr '\n' ' ')"
query 'COMMIT;' >/dev/null || true
printf '\\q\n' 1>&"$SNAP_IN" 2>/dev/null || true
exec {SNAP_IN}>&- {SNAP_OUT}<&-
wait "$psql_pid" 2>/dev/null || true

"$BIN/pg_restore" --list "$dump.partial" >/dev/null 2>"$TMP/list.err" \
  || die "the new dump cannot be read back: $(head -n 3 "$TMP/list.err" | tr '\n' ' ')"
sha=$(sha256sum "$dump.partial" | cut -d' ' -f1)
bytes=$(stat -c %s "$dump.partial")
dump_version=$("$BIN/pg_dump" --version | awk '{print $3}')

json_string() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
{
  printf '{\n  "dump": %s,\n' "$(json_string "$name.dump")"
  printf '  "created_at": "%s",\n' "$(date -u -d "@$(stat -c %Y "$dump.partial")" +%Y-%m-%dT%H:%M:%SZ)"
  printf '  "database": %s,\n' "$(json_string "${PGDATABASE:-}")"
  printf '  "server_version": %s,\n  "pg_dump_version": %s,\n' "$(json_string "$server_version")" "$(json_string "$dump_version")"
  printf '  "alembic_version": %s,\n' "$(json_string "$alembic")"
  printf '  "bytes": %s,\n  "sha256": "%s",\n  "counts": {' "$bytes" "$sha"
  sep=""
  while IFS=$'\t' read -r table n; do
    [ -n "$table" ] || continue
    [[ $n =~ ^[0-9]+$ ]] || die "unexpected count for $table: $n"
    printf '%s\n    "%s": %s' "$sep" "$table" "$n"
    sep=","
  done <<<"$counts"
  printf '\n  }\n}\n'
} >"$DIR/$name.json.partial"
mv "$dump.partial" "$dump"
mv "$DIR/$name.json.partial" "$DIR/$name.json"

# Retention: the newest KEEP dumps (names sort by time), each with its JSON.
mapfile -t dumps < <(find "$DIR" -maxdepth 1 -name 'outreach-*.dump' -printf '%f\n' | sort)
removed=0
for ((i = 0; i < ${#dumps[@]} - KEEP; i++)); do
  rm -f "$DIR/${dumps[i]}" "$DIR/${dumps[i]%.dump}.json"
  removed=$((removed + 1))
done
residents=$(awk -F'\t' '$1 == "public.resident" {print $2}' <<<"$counts")
say "$name.dump: $bytes bytes in $((SECONDS - started)) s, alembic $alembic, ${residents:-?} residents; $removed old dump(s) removed, keeping $KEEP"
echo "$dump"
