# PostgreSQL connection helpers shared by scripts/backup.sh and scripts/restore-check.sh (sourced, not run):
# a temporary directory, the pg tools of the server's version, and the libpq variables from a SQLAlchemy URL.
# The sourcing script defines die().
# shellcheck shell=bash
TMP=$(mktemp -d)
cleanup_tmp() { rm -rf "$TMP"; }
trap cleanup_tmp EXIT

python_bin() {
  local candidate
  for candidate in "${OUTREACH_PYTHON:-}" .venv/bin/python python3; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 && { echo "$candidate"; return 0; }
  done
  return 1
}

# Sets PGHOST, PGPORT, PGUSER, PGDATABASE (and sslmode etc. from the query) from the URL in $1, and PGPASSFILE when
# the URL has a password. The URL goes to Python in the environment, never in argv.
use_url() {
  local python key value found=0
  python=$(python_bin) || die "python3 is needed to read the database URL"
  rm -f "$TMP/pgpass" "$TMP/url.out"
  _URL="$1" "$python" - >"$TMP/url.out" <<'PY' || die "the database URL cannot be read (expected postgresql+psycopg://user@host:port/db)"
import os
import sys
from urllib.parse import parse_qsl, unquote, urlsplit

parts = urlsplit(os.environ["_URL"])
if parts.scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
    sys.exit(1)
found = {}
try:
    if parts.port:
        found["PGPORT"] = str(parts.port)
except ValueError:
    sys.exit(1)
if parts.hostname:
    found["PGHOST"] = parts.hostname
if parts.username:
    found["PGUSER"] = unquote(parts.username)
if parts.path.strip("/"):
    found["PGDATABASE"] = unquote(parts.path.strip("/"))
names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "dbname": "PGDATABASE", "sslmode": "PGSSLMODE",
         "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "options": "PGOPTIONS",
         "connect_timeout": "PGCONNECT_TIMEOUT", "target_session_attrs": "PGTARGETSESSIONATTRS"}
for key, value in parse_qsl(parts.query):
    if key in names:
        found[names[key]] = value
if parts.password is not None:
    secret = unquote(parts.password).replace("\\", "\\\\").replace(":", "\\:")
    found["_PGPASSLINE"] = "*:*:*:*:" + secret
for key, value in found.items():
    sys.stdout.write(f"{key}\0{value}\0")
PY
  while IFS= read -r -d '' key && IFS= read -r -d '' value; do
    if [ "$key" = _PGPASSLINE ]; then
      printf '%s\n' "$value" >"$TMP/pgpass"
      export PGPASSFILE="$TMP/pgpass"
      found=1
    else
      export "$key=$value"
    fi
  done <"$TMP/url.out"
  rm -f "$TMP/url.out"
  [ "$found" = 1 ] || unset PGPASSFILE
  export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-10}
}

where() { printf '%s@%s:%s/%s' "${PGUSER:-$(id -un)}" "${PGHOST:-local socket}" "${PGPORT:-5432}" "${PGDATABASE:-?}"; }

# The client tools of the server's major version (pg_dump refuses a newer server; a newer pg_dump writes archives an
# older pg_restore cannot read). Sets BIN.
pg_bin() {
  local any major
  if [ -n "${OUTREACH_PG_BIN:-}" ]; then BIN=$OUTREACH_PG_BIN; return 0; fi
  any=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  [ -n "$any" ] || any=$(dirname "$(command -v psql 2>/dev/null || echo /nonexistent/psql)")
  [ -x "$any/psql" ] || die "psql not found (apt-get install postgresql-client)"
  major=$("$any/psql" -X -w -A -t -c 'SHOW server_version_num' 2>"$TMP/psql.err") \
    || die "cannot connect to PostgreSQL as $(where): $(head -n 3 "$TMP/psql.err" | tr '\n' ' ')"
  major=$((major / 10000))
  [ -x "/usr/lib/postgresql/$major/bin/pg_dump" ] \
    || die "the server is PostgreSQL $major but /usr/lib/postgresql/$major/bin has no pg_dump (apt-get install postgresql-client-$major, or set OUTREACH_PG_BIN)"
  # shellcheck disable=SC2034  # BIN: used by the sourcing script
  BIN="/usr/lib/postgresql/$major/bin"
}
