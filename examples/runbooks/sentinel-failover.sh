#!/bin/sh
# A planned failover runbook for Redis (or Valkey) under Sentinel: ask the Sentinels to fail over
# (SENTINEL FAILOVER, as an operator would before a SAN upgrade of the primary's storage), wait
# until they name another primary, and name it. Sentinel does the work; faultline only watches and
# checks what it cost. Everything it uses comes from faultline's FAULTLINE_* variables
# (docs/runbooks.md); on your own site, run redis-cli against one of your Sentinels instead of
# `docker exec`.
set -eu
[ "${FAULTLINE_MANAGER:-}" = sentinel ] || { echo "this runbook drives Sentinel, and the cluster has no Sentinel" >&2; exit 1; }
sentinel() { docker exec "$FAULTLINE_SENTINEL_CONTAINER" "$FAULTLINE_REDIS_CLI" -p "$FAULTLINE_SENTINEL_PORT" "$@"; }
primary_ip() { sentinel SENTINEL GET-MASTER-ADDR-BY-NAME "$FAULTLINE_SENTINEL_MASTER" | head -n 1; }
old=$(primary_ip)
echo "the Sentinels name $old as the primary; asking them to fail over"
reply=$(sentinel SENTINEL FAILOVER "$FAULTLINE_SENTINEL_MASTER")
[ "$reply" = OK ] || { echo "SENTINEL FAILOVER refused: $reply" >&2; exit 1; }
tries=0
new=$old
while [ "$new" = "$old" ]; do
  tries=$((tries + 1))
  [ "$tries" -le 120 ] || { echo "the Sentinels still name $old after 60 s" >&2; exit 1; }
  sleep 0.5
  new=$(primary_ip)
done
# The node at that address, from the context faultline wrote.
name=$(node -e 'const c = require(process.argv[1]); const n = c.nodes.find((n) => n.ip === process.argv[2]); if (!n) process.exit(1); console.log(n.name)' "$FAULTLINE_CONTEXT" "$new") || { echo "no node has address $new" >&2; exit 1; }
echo "the Sentinels promoted $name ($new)"
printf '{"primary": "%s"}\n' "$name" >"$FAULTLINE_RESULT"
