#!/usr/bin/env bash
# Proves that a dump made by scripts/backup.sh restores: checks its SHA-256, restores it into a fresh scratch database,
# compares the alembic version and the row counts with those written beside the dump (the source at dump time), and
# drops the scratch database. Exit 0 only if everything matches; 1 with a "FAILED: …" line otherwise.
#
#   scripts/restore-check.sh [DUMP]     default: the newest outreach-*.dump in the backup directory
#
#   DATABASE_URL           the server where the scratch database is made (CREATE DATABASE needed), unless
#   OUTREACH_RESTORE_URL   names another one (production: a role with CREATEDB only, or another server)
#   OUTREACH_BACKUP_DIR    default var/backups
#   OUTREACH_PG_BIN        the directory of pg_restore/psql; default /usr/lib/postgresql/<server's major>/bin
#
# Prints one JSON line on stdout ({"ok": true|false, "dump", "checks", "failures"}); the details on stderr.
set -euo pipefail
export LC_ALL=C
umask 077
cd "$(dirname "$0")/.."

say() { printf '[restore-check] %s\n' "$*" >&2; }
die() { printf '[restore-check] FAILED: %s\n' "$*" >&2; printf '{"ok": false, "error": "see stderr"}\n'; exit 1; }

DIR=${OUTREACH_BACKUP_DIR:-var/backups}
DUMP=""
case ${1:-} in
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "usage: $0 [DUMP]" >&2; exit 2 ;;
  *) DUMP=${1:-} ;;
esac
URL=${OUTREACH_RESTORE_URL:-${DATABASE_URL:-}}
[ -n "$URL" ] || { echo "[restore-check] DATABASE_URL (or OUTREACH_RESTORE_URL) is not set" >&2; exit 2; }

# ------------------------------------------------------------------ connection
# shellcheck source=scripts/lib/pg-connection.sh
. "$(dirname "$0")/lib/pg-connection.sh"

# ------------------------------------------------------------------ end of the connection block

# ------------------------------------------------------------------ the dump and what it should hold
if [ -z "$DUMP" ]; then
  [ -d "$DIR" ] || die "no backup directory $DIR (scripts/backup.sh writes the dumps there)"
  DUMP=$(find "$DIR" -maxdepth 1 -name 'outreach-*.dump' -printf '%p\n' | sort | tail -n 1)
  [ -n "$DUMP" ] || die "no dump in $DIR (outreach-*.dump, written by scripts/backup.sh)"
fi
[ -f "$DUMP" ] || die "the dump $DUMP does not exist"
META=${DUMP%.dump}.json
[ -f "$META" ] || die "$META is missing: without the counts of the source there is nothing to compare with"
python=$(python_bin) || die "python3 is needed to read $META"
"$python" - "$META" >"$TMP/meta.tsv" 2>"$TMP/meta.err" <<'PY' || die "$META is not a dump's description: $(tail -n 1 "$TMP/meta.err")"
import json
import re
import sys

meta = json.load(open(sys.argv[1], encoding="utf-8"))
counts = meta["counts"]
assert isinstance(counts, dict) and counts, "no counts"
print(f"sha256\t{meta['sha256']}")
print(f"alembic\t{meta['alembic_version']}")
print(f"created_at\t{meta.get('created_at', '?')}")
for table, n in sorted(counts.items()):
    assert re.fullmatch(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*", table), f"odd table name {table!r}"
    assert isinstance(n, int) and n >= 0, f"odd count for {table}"
    print(f"count\t{table}\t{n}")
PY
field() { awk -F'\t' -v k="$1" '$1 == k {print $2}' "$TMP/meta.tsv"; }
want_sha=$(field sha256)
want_alembic=$(field alembic)
say "dump $(basename "$DUMP"): $(stat -c %s "$DUMP") bytes, made $(field created_at), alembic $want_alembic"

sha=$(sha256sum "$DUMP" | cut -d' ' -f1)
[ "$sha" = "$want_sha" ] || die "$(basename "$DUMP") does not match the SHA-256 written when it was made: the file is corrupt or truncated"
say "checksum ok"

# ------------------------------------------------------------------ restore into a scratch database
use_url "$URL"
pg_bin
"$BIN/pg_restore" --list "$DUMP" >/dev/null 2>"$TMP/list.err" \
  || die "pg_restore cannot read $(basename "$DUMP"): $(head -n 3 "$TMP/list.err" | tr '\n' ' ')"
SCRATCH="outreach_restore_check_$(date -u +%Y%m%d%H%M%S)_$$"
created=0
drop_scratch() {
  if [ "$created" = 1 ]; then
    "$BIN/psql" -X -w -q -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$SCRATCH\" WITH (FORCE)" >/dev/null 2>&1 \
      || say "could not drop the scratch database $SCRATCH: drop it by hand"
  fi
  rm -rf "$TMP"
}
trap drop_scratch EXIT
"$BIN/psql" -X -w -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$SCRATCH\" TEMPLATE template0 ENCODING 'UTF8'" \
  >/dev/null 2>"$TMP/create.err" \
  || die "cannot create the scratch database on $(where) (the role needs CREATEDB): $(head -n 2 "$TMP/create.err" | tr '\n' ' ')"
created=1
started=$SECONDS
"$BIN/pg_restore" -w --no-owner --no-acl --exit-on-error --single-transaction --dbname="$SCRATCH" "$DUMP" \
  2>"$TMP/restore.err" || die "pg_restore into $SCRATCH: $(head -n 5 "$TMP/restore.err" | tr '\n' ' ')"
say "restored into the scratch database $SCRATCH in $((SECONDS - started)) s"

# ------------------------------------------------------------------ sanity queries
in_scratch() { "$BIN/psql" -X -w -q -A -t -v ON_ERROR_STOP=1 --dbname="$SCRATCH" -c "$1" 2>&1; }
checks=0
failures=()
got=$(in_scratch "SELECT coalesce(string_agg(version_num, ',' ORDER BY version_num), '') FROM alembic_version") \
  || got="(no alembic_version table)"
checks=$((checks + 1))
if [ "$got" = "$want_alembic" ]; then
  say "alembic version $got: ok"
else
  failures+=("alembic version: restored $got, source $want_alembic")
fi
while IFS=$'\t' read -r kind table want; do
  [ "$kind" = count ] || continue
  checks=$((checks + 1))
  got=$(in_scratch "SELECT count(*) FROM $table") || got="(table missing)"
  if [ "$got" = "$want" ]; then
    say "$table: $got rows: ok"
  else
    failures+=("$table: $got rows restored, $want in the source at dump time")
  fi
done <"$TMP/meta.tsv"

name=$(basename "$DUMP")
if [ ${#failures[@]} -gt 0 ]; then
  for failure in "${failures[@]}"; do say "FAILED: $failure"; done
  printf '{"ok": false, "dump": "%s", "checks": %s, "failures": %s}\n' "$name" "$checks" "${#failures[@]}"
  exit 1
fi
say "PASSED: $name restores, $checks checks match the source at dump time"
printf '{"ok": true, "dump": "%s", "checks": %s, "failures": 0}\n' "$name" "$checks"
