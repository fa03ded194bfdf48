#!/bin/sh
# Before starting or upgrading workers (outreach-migrate.service, the compose file's `migrate`): alembic to head and
# the reference data (`outreach db upgrade`), then the schema `rasa` where Rasa's SQL tracker store keeps the
# conversations (outreach/rasa_store.py). Idempotent; needs DATABASE_URL.
set -eu
cd "$(dirname "$0")/../.."
.venv/bin/outreach db upgrade
.venv/bin/python -c 'import os; from outreach import rasa_store; rasa_store.prepare(os.environ["DATABASE_URL"])'
echo "[migrate] database at head, schema rasa ready" >&2
