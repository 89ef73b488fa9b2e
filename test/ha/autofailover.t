#!/usr/bin/env bash
# High availability with pg_auto_failover (Debian's postgresql-15-auto-failover):
# a monitor and two nodes, oracode preloaded on both. The worker runs on the
# primary only; `pg_autoctl perform failover` makes the secondary the primary
# and the old primary a secondary, and the workers follow: the new primary's
# starts, the old one's stops. Requests queued on the old primary are sent by
# the new one, and Seam's fake holds one code per request. Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tap.sh
. test/ha/tap.sh
# shellcheck source=lib.sh
. test/ha/lib.sh
# shellcheck source=../../scripts/fake.sh
. scripts/fake.sh

command -v pg_autoctl >/dev/null || { echo "1..0 # SKIP pg_autoctl is not installed (scripts/setup.sh installs it)"; exit 0; }
ha_init
fake_start || tap_bail "cannot start Seam's fake server"
seed=$(fake_seed_lock '{"name":"HA auto-failover lock","time_zone":"UTC"}') || tap_bail "cannot seed the fake"
FAKE_API_KEY=$(fake_json api_key <<<"$seed"); export FAKE_API_KEY
dev=$(fake_json device_id <<<"$seed")

# pg_autoctl as the cluster user, with its configuration and state inside HA_DIR
autoctl() {
  as_cluster_user env PATH="$PATH" XDG_CONFIG_HOME="$HA_DIR/xdg/config" XDG_DATA_HOME="$HA_DIR/xdg/data" \
    XDG_RUNTIME_DIR="$HA_DIR/xdg/run" pg_autoctl "$@"
}
as_cluster_user mkdir -p "$HA_DIR/xdg/run" "$HA_DIR/monitor" "$HA_DIR/a" "$HA_DIR/b"
RUN_PIDS=()
# autoctl_run NAME: the node's pg_autoctl service (keeper and postgres), in the background
autoctl_run() {
  autoctl run --pgdata "$HA_DIR/$1/data" >"$HA_DIR/$1/autoctl.log" 2>&1 &
  RUN_PIDS+=($!)
}
# stop the services before the nodes (or pg_autoctl would restart them)
stop_autoctl() {
  local n p
  for n in a b monitor; do [ -d "$HA_DIR/$n/data" ] && autoctl stop --pgdata "$HA_DIR/$n/data" >/dev/null 2>&1; done
  for p in "${RUN_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  return 0
}
HA_STOP_HOOKS+=(stop_autoctl)

NODE_PORT[monitor]=$(free_port); NODE_PORT[a]=$(free_port); NODE_PORT[b]=$(free_port)
monitor_uri="postgres://autoctl_node@127.0.0.1:${NODE_PORT[monitor]}/pg_auto_failover?sslmode=disable"
common=(--hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl)

autoctl create monitor --pgdata "$HA_DIR/monitor/data" --pgport "${NODE_PORT[monitor]}" "${common[@]}" \
  >"$HA_DIR/monitor/create.log" 2>&1 || { tail -n 20 "$HA_DIR/monitor/create.log" | tap_diag -; tap_bail "cannot create the monitor"; }
autoctl_run monitor
mq() { psql -X -q -At -h 127.0.0.1 -p "${NODE_PORT[monitor]}" -U postgres -d pg_auto_failover -c "$1" 2>/dev/null; }
wait_until 30 eval '[ -n "$(mq "SELECT 1")" ]' || tap_bail "the monitor does not answer"

# node a: created by pg_autoctl, then oracode added to its configuration (b copies it)
autoctl create postgres --pgdata "$HA_DIR/a/data" --pgport "${NODE_PORT[a]}" "${common[@]}" --monitor "$monitor_uri" \
  --dbname "$HA_DB" --name a >"$HA_DIR/a/create.log" 2>&1 || { tail -n 20 "$HA_DIR/a/create.log" | tap_diag -; tap_bail "cannot create node a"; }
printf '%s\n' "shared_preload_libraries = 'pg_stat_statements,oracode'" "oracode.database = '$HA_DB'" \
  "oracode.api_url = '$FAKE_URL'" "oracode.api_key = '$FAKE_API_KEY'" "oracode.poll_interval = 1" \
  "oracode.sync_interval = 0" "oracode.retry_max_delay = 2" "logging_collector = off" \
  | as_cluster_user tee -a "$HA_DIR/a/data/postgresql.conf" >/dev/null
autoctl_run a
wait_until 30 eval '[ "$(nq a "SELECT 1" 2>/dev/null)" = 1 ]' || tap_bail "node a does not start"
nq a "CREATE EXTENSION oracode" >/dev/null || tap_bail "CREATE EXTENSION failed"
tap_is "$(nq a 'SELECT oracode_sync_devices()')" 1 "node a synced the lock from Seam"

autoctl create postgres --pgdata "$HA_DIR/b/data" --pgport "${NODE_PORT[b]}" "${common[@]}" --monitor "$monitor_uri" \
  --dbname "$HA_DB" --name b >"$HA_DIR/b/create.log" 2>&1 || { tail -n 20 "$HA_DIR/b/create.log" | tap_diag -; tap_bail "cannot create node b"; }
autoctl_run b
states() { mq "SELECT string_agg(nodename || ':' || reportedstate, ' ' ORDER BY nodename) FROM pgautofailover.node"; }
tap_ok "the monitor sees a as primary and b as secondary" wait_until 60 eval '[ "$(states)" = "a:primary b:secondary" ]'
[ "$(states)" = "a:primary b:secondary" ] || { states | tap_diag -; tap_bail "the formation did not come up"; }

running_on() { [ "$(nq "$1" "SELECT state FROM oracode.worker_health" 2>/dev/null)" = running ]; }
tap_ok "the worker runs on the primary (a)" wait_until 20 running_on a
tap_is "$(nq b "SELECT state || ' ' || (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oracode worker') FROM oracode.worker_health")" \
  "standby 0" "and not on the secondary (b)"

# requests on a: two sent now, three held until after the failover ---------------------------------
book() {  # book REF DAY [issue_at SQL]
  nq a "SELECT id FROM oracode_create_code('$dev', ((current_date + $2) + time '16:00') AT TIME ZONE 'UTC',
        ((current_date + $2 + 2) + time '11:00') AT TIME ZONE 'UTC', 'Guest $1', '$1', issue_at => ${3:-NULL})" >/dev/null
}
book PAF-S1 10; book PAF-S2 13
sent() { [ "$(nq a "SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'PAF-S%' AND seam_access_code_id IS NOT NULL")" = 2 ]; }
tap_ok "node a sent two requests" wait_until 30 sent
for i in 1 2 3; do book "PAF-H$i" $((20 + 3 * i)) "now() + interval '20 seconds'"; done
tap_is "$(nq b "SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'PAF-H%' AND status = 'queued'")" 3 \
  "the held requests are on b, queued (synchronous replication)"

# the failover ---------------------------------------------------------------------------------------
autoctl perform failover --pgdata "$HA_DIR/monitor/data" >"$HA_DIR/failover.log" 2>&1
tap_is "$?" 0 "pg_autoctl perform failover"
tap_ok "the monitor now has b as primary and a as secondary" wait_until 60 eval '[ "$(states)" = "a:secondary b:primary" ]'
tap_is "$(nq b "SELECT pg_is_in_recovery()")" f "b is read-write"
tap_ok "the worker starts on the new primary (b)" wait_until 30 running_on b
gone_from_a() { [ "$(nq a "SELECT state || ' ' || (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oracode worker') FROM oracode.worker_health" 2>/dev/null)" = "standby 0" ]; }
tap_ok "and is gone from the old primary (a), now a standby" wait_until 30 gone_from_a

done_all() { [ "$(nq b "SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'PAF-%' AND seam_access_code_id IS NOT NULL")" = 5 ]; }
tap_ok "b sends the requests queued on a" wait_until 60 done_all
tap_is "$(nq b "SELECT count(*) FILTER (WHERE e.new_status = 'sending') || ' ' || count(*) FROM oracode.access_code_events e
                JOIN oracode.access_codes a ON a.id = e.access_code_id WHERE a.booking_ref LIKE 'PAF-H%' AND e.old_status = 'queued'")" \
  "3 3" "each held request was sent once (one queued → sending each)"

codes=$(curl -sS "$FAKE_URL/_oracode/access_codes?device_id=$dev")
names=$(node -e 'for (const c of JSON.parse(require("fs").readFileSync(0, "utf8"))) console.log(c.name)' <<<"$codes" | sort)
tap_is "$(wc -l <<<"$names")" 5 "Seam holds five codes for the lock"
tap_is "$(uniq -d <<<"$names" | wc -l)" 0 "no name twice: no code was created twice"
tap_is "$names" "$(nq b "SELECT seam_name FROM oracode.access_codes WHERE booking_ref LIKE 'PAF-%' ORDER BY 1" | sort)" \
  "Seam's codes are exactly the five requests"
tap_done
