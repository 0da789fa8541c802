#!/bin/sh
# A disaster-recovery runbook for faultline rehearse: restore the latest pgBackRest backup into the
# empty node faultline prepared, replay the archived WAL, and hand that node over as the primary.
# Everything it uses comes from faultline's FAULTLINE_* variables (docs/runbooks.md); on your own
# site the same steps run against your hosts instead of `docker exec`.
set -eu
node=$FAULTLINE_EMPTY_NODE_CONTAINER
on_node() { docker exec -u postgres "$node" "$@"; }

echo "restoring the latest backup of stanza '$FAULTLINE_PGBACKREST_STANZA' into $FAULTLINE_EMPTY_NODE"
on_node sh -c "mkdir -p '$FAULTLINE_PGDATA' && chmod 700 '$FAULTLINE_PGDATA'"
on_node pgbackrest --stanza="$FAULTLINE_PGBACKREST_STANZA" --type=default --target-timeline=latest restore

echo "starting PostgreSQL: it replays the archive, then promotes itself at its end"
on_node pg_ctl -D "$FAULTLINE_PGDATA" -l /var/log/faultline/postgresql.log -w -t 120 start

tries=0
until [ "$(on_node psql -Atc 'SELECT pg_is_in_recovery()')" = f ]; do
  tries=$((tries + 1))
  [ "$tries" -le 240 ] || { echo "still in recovery after 120 s" >&2; exit 1; }
  sleep 0.5
done
echo "$FAULTLINE_EMPTY_NODE accepts writes"
printf '{"primary": "%s"}\n' "$FAULTLINE_EMPTY_NODE" >"$FAULTLINE_RESULT"
