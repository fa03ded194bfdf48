#!/usr/bin/env bash
# Restarts outreach's units one at a time, each waiting until it is ready before the next one goes: there is
# always a worker taking Telegram's updates and a Rasa replica answering (docs/deploy.md, "Upgrades").
#
#   deploy/bin/rolling-restart.sh [workers|rasa|all]     default all: the workers, then each action server + Rasa pair
#
# Instances are numbered 1-9 and the ports follow the number (deploy/systemd): worker i's console 717i (/pret),
# Rasa i 711i (GET /), action server i 713i (/health). Stops at the first instance that does not become ready
# and leaves the others as they are (exit 1). Run as root.
set -euo pipefail
what=${1:-all}
case $what in workers|rasa|all) ;; *) echo "usage: $0 [workers|rasa|all]" >&2; exit 2 ;; esac
READY_TIMEOUT=${OUTREACH_READY_TIMEOUT:-180}   # a worker waits for Rasa; Rasa loads its model in 30-60 s
SETTLE=${OUTREACH_SETTLE_SECONDS:-6}           # nginx puts a server back after fail_timeout (5 s)

say() { printf '[rolling-restart] %s\n' "$*" >&2; }

instances() {  # $1: worker|rasa|actions → the numbers of the loaded instances (active or failed)
  systemctl list-units --type=service --plain --no-legend "outreach-$1@*.service" \
    | awk '{print $1}' | sed -nE "s/^outreach-$1@([1-9])\.service$/\1/p" | sort -n
}

ready() {  # $1: URL, $2: seconds
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 1
  done
}

restart() {  # $1: unit, $2: readiness URL, $3: timeout
  local started=$SECONDS
  say "restarting $1"
  systemctl restart "$1"
  if ! ready "$2" "$3"; then
    say "FAILED: $1 is not ready after $3 s ($2); the instances not yet restarted are left as they were"
    say "look at: journalctl -u $1 -n 100"
    exit 1
  fi
  say "$1 ready in $((SECONDS - started)) s"
}

if [ "$what" = workers ] || [ "$what" = all ]; then
  mapfile -t workers < <(instances worker)
  [ ${#workers[@]} -gt 0 ] || say "no outreach-worker@ instance loaded"
  [ ${#workers[@]} -ne 1 ] || say "only one worker: Telegram's updates wait (and are retried by Telegram) while it restarts"
  for i in "${workers[@]}"; do
    restart "outreach-worker@$i.service" "http://127.0.0.1:717$i/pret" "$READY_TIMEOUT"
    sleep "$SETTLE"
  done
fi
if [ "$what" = rasa ] || [ "$what" = all ]; then
  mapfile -t replicas < <(instances rasa)
  [ ${#replicas[@]} -ne 1 ] || say "only one Rasa replica: residents get \"Un instant…\" and their answer once it is back"
  for i in "${replicas[@]}"; do
    restart "outreach-actions@$i.service" "http://127.0.0.1:713$i/health" 60
    restart "outreach-rasa@$i.service" "http://127.0.0.1:711$i/" "$READY_TIMEOUT"
    sleep "$SETTLE"
  done
fi
say "done"
