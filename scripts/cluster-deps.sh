#!/usr/bin/env bash
# What `outreach cluster up` runs besides our own code: Redis and nginx (and PostgreSQL when asked, as
# scripts/postgres.sh installs it). Usage: scripts/cluster-deps.sh [redis] [nginx] [postgresql]
# (default: redis nginx). Installs the missing Debian packages when run as root with apt-get, without
# starting their system services (the cluster runs its own instances); otherwise says what to install
# and exits 1. Idempotent and quiet: nothing to do, nothing said.
set -euo pipefail
say() { printf '[cluster-deps] %s\n' "$*" >&2; }
SYSTEM_PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
have() { PATH="$SYSTEM_PATH" command -v "$1" >/dev/null 2>&1; }
have_postgres() { ls -d /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; }

[ "$#" -gt 0 ] || set -- redis nginx
missing=()
for want in "$@"; do
  case "$want" in
    redis) have redis-server || missing+=(redis-server) ;;
    nginx) have nginx || missing+=(nginx) ;;
    postgresql) have_postgres || missing+=(postgresql) ;;
    *) say "unknown package '$want' (redis, nginx or postgresql)"; exit 2 ;;
  esac
done
[ "${#missing[@]}" -gt 0 ] || exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  say "missing: ${missing[*]}; install them first, e.g. sudo apt-get install ${missing[*]}"
  exit 1
fi
say "installing ${missing[*]} from Debian packages"
# Debian starts a service when its package is installed; the cluster runs its own instances on its own
# ports, so none is started here (policy-rc.d 101: "action not allowed"), unless the machine has its own policy.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  trap 'rm -f "$POLICY"' EXIT
fi
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for want in "$@"; do
  case "$want" in
    redis) have redis-server ;;
    nginx) have nginx ;;
    postgresql) have_postgres ;;
  esac || { say "$want is still missing after apt-get install"; exit 1; }
done
say "installed: ${missing[*]}"
