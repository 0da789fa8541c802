#!/bin/sh
# A planned switchover runbook for a cluster under Patroni: hand the leader role to a streaming
# replica with Patroni's own tool, as an operator would during a SAN upgrade (patronictl switchover),
# wait until it leads, and name it. Patroni does the work; faultline only watches and checks what
# it cost. Everything it uses comes from faultline's FAULTLINE_* variables (docs/runbooks.md); on
# your own site, run patronictl on one of your hosts instead of `docker exec`.
set -eu
[ "${FAULTLINE_MANAGER:-}" = patroni ] || { echo "this runbook drives Patroni, and the cluster has no Patroni" >&2; exit 1; }
patronictl() { docker exec -u postgres "$FAULTLINE_PATRONICTL_CONTAINER" patronictl -c "$FAULTLINE_PATRONI_CONFIG" "$@"; }
# The members as Patroni lists them; a streaming replica becomes the candidate.
members=$(patronictl list --format json)
candidate=$(printf '%s' "$members" | docker exec -i "$FAULTLINE_PATRONICTL_CONTAINER" python3 -c '
import json, sys
members = json.load(sys.stdin)
print(next(m["Member"] for m in members if m["Role"] in ("Replica", "Sync Standby") and m["State"] == "streaming"))')
leader=$(printf '%s' "$members" | docker exec -i "$FAULTLINE_PATRONICTL_CONTAINER" python3 -c '
import json, sys
print(next(m["Member"] for m in json.load(sys.stdin) if m["Role"] == "Leader"))')
echo "switching over from $leader to $candidate"
patronictl switchover --leader "$leader" --candidate "$candidate" --force
tries=0
until patronictl list --format json | docker exec -i "$FAULTLINE_PATRONICTL_CONTAINER" python3 -c '
import json, sys
sys.exit(0 if any(m["Member"] == sys.argv[1] and m["Role"] == "Leader" and m["State"] == "running" for m in json.load(sys.stdin)) else 1)' "$candidate"; do
  tries=$((tries + 1))
  [ "$tries" -le 120 ] || { echo "$candidate does not lead after 60 s" >&2; exit 1; }
  sleep 0.5
done
echo "$candidate leads"
printf '{"primary": "%s"}\n' "$candidate" >"$FAULTLINE_RESULT"
