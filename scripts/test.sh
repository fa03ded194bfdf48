#!/usr/bin/env bash
# The whole test suite: trains the model if needed, starts a throwaway PostgreSQL, runs pytest.
# pytest's exit 5 (no tests collected) is a failure here.
set -uo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
.venv/bin/outreach train >/dev/null || { echo "[test] training failed" >&2; exit 1; }
if url=$(scripts/postgres.sh start); then
  export OUTREACH_TEST_POSTGRES_URL="$url"
elif [ "${CI:-}" = "true" ]; then
  echo "[test] PostgreSQL could not be started; CI needs it" >&2; exit 1
else
  echo "[test] PostgreSQL unavailable: PostgreSQL variants of the DB tests will be skipped" >&2
fi
if redis=$(scripts/redis.sh start 2>/dev/null); then
  export OUTREACH_TEST_REDIS_URL="$redis"
elif [ "${CI:-}" = "true" ]; then
  echo "[test] Redis could not be started; CI needs it for the several-workers tests" >&2; exit 1
else
  echo "[test] Redis unavailable: the several-workers tests will be skipped" >&2
fi
if chromium=$(scripts/browser.sh); then
  export OUTREACH_CHROMIUM="$chromium"
elif [ "${CI:-}" = "true" ]; then
  echo "[test] Chromium could not be installed; CI needs it for the browser tests" >&2; exit 1
else
  echo "[test] Chromium unavailable: browser tests will be skipped" >&2
fi
.venv/bin/ruff check . || exit 1
.venv/bin/lint-imports --no-cache || { echo "[test] import contracts broken (pyproject.toml, docs/architecture.md)" >&2; exit 1; }
.venv/bin/python scripts/catalogue.py check || { echo "[test] message catalogue incomplete (docs/i18n.md)" >&2; exit 1; }
.venv/bin/python scripts/audit.py || { echo "[test] dependency audit failed (security/pip-audit-allowlist.toml, docs/security.md)" >&2; exit 1; }
.venv/bin/python -m pytest --durations=30 "$@"  # the 30 slowest, to keep the whole run under 40 minutes
code=$?
echo "[test] finished in $((SECONDS - start)) s (pytest exit $code)" >&2
if [ "$code" = 5 ]; then echo "[test] no tests were collected: failing" >&2; exit 1; fi
exit "$code"
