#!/usr/bin/env bash
# Many databases (oracode.database = a list): one cluster, databases mt_a and
# mt_b in one Seam workspace and mt_c in another, each with its own key file
# (oracode.api_key_file = '.../%d.key'). Checks, on Seam's fake:
#  - a worker per database, and requests of each reach the fake under their
#    own database's key (the code's workspace at the fake is the key's);
#  - a reload adds a database (mt_d) and removes one (mt_b), a listed
#    database without the extension (mt_e) gets no worker until it has it;
#  - a wrong key in one database pauses that one only; Seam down for one workspace holds up
#    only the databases of that workspace;
#  - DROP DATABASE of a served database is not held up by its worker, and the
#    others go on sending;
#  - kill -9 of one database's worker: the postmaster restarts every process
#    (a crash of a process attached to shared memory), and every database's
#    worker comes back and sends;
#  - max_worker_processes too small: a WARNING with a hint, and the database
#    left without a worker says so in worker_health_all.
# Prints TAP. Honours PG_BINDIR (scripts/cluster.sh).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=../ha/tap.sh
. test/ha/tap.sh
# shellcheck source=../../scripts/cluster.sh
. scripts/cluster.sh
# shellcheck source=../../scripts/fake.sh
. scripts/fake.sh

fake_start || tap_bail "cannot start Seam's fake server"
seed_a=$(fake_seed_lock '{"name":"Tenant A lock 1","time_zone":"UTC"}') || tap_bail "cannot seed the fake"
ws_a=$(fake_json workspace_id <<<"$seed_a"); key_a=$(fake_json api_key <<<"$seed_a"); dev_a1=$(fake_json device_id <<<"$seed_a")
seed_a2=$(fake_seed_lock "{\"name\":\"Tenant A lock 2\",\"time_zone\":\"UTC\",\"workspace_id\":\"$ws_a\"}") || tap_bail "cannot seed the fake"
dev_a2=$(fake_json device_id <<<"$seed_a2")
seed_b=$(fake_seed_lock '{"name":"Tenant B lock","time_zone":"UTC"}') || tap_bail "cannot seed the fake"
ws_b=$(fake_json workspace_id <<<"$seed_b"); key_b=$(fake_json api_key <<<"$seed_b"); dev_b=$(fake_json device_id <<<"$seed_b")
[ "$(fake_json api_key <<<"$seed_a2")" = "$key_a" ] || tap_bail "the second lock of workspace A has another key"

# one key file per database, readable by the server's user only
KEY_DIR=$(mktemp -d /tmp/oracode-keys.XXXXXX)
on_exit "rm -rf '$KEY_DIR'"
put_key() { echo "$2" >"$KEY_DIR/$1.key"; chown "$CLUSTER_USER" "$KEY_DIR/$1.key" 2>/dev/null; chmod 600 "$KEY_DIR/$1.key"; }
put_key mt_a "$key_a"; put_key mt_b "$key_a"; put_key mt_c "$key_b"; put_key mt_d "$key_b"; put_key mt_e "$key_b"
chown "$CLUSTER_USER" "$KEY_DIR" 2>/dev/null; chmod 700 "$KEY_DIR"

cluster_start "oracode.database = 'mt_a, mt_b, mt_c'" "oracode.api_url = '$FAKE_URL'" \
  "oracode.api_key_file = '$KEY_DIR/%d.key'" "oracode.poll_interval = 1" "oracode.sync_interval = 0" \
  "oracode.retry_max_delay = 2" || tap_bail "cannot start PostgreSQL"

q() { psql -X -q -At -d "$1" -c "$2" 2>&1; }
for db in mt_a mt_b mt_c mt_d mt_e; do createdb "$db" || tap_bail "createdb $db failed"; done
for db in mt_a mt_b mt_c mt_d; do q "$db" "CREATE EXTENSION oracode" >/dev/null || tap_bail "CREATE EXTENSION in $db failed"; done

# --- each database syncs its own workspace's locks, with its own key (%d) --------------------------
for db in mt_a mt_b mt_c mt_d; do q "$db" "SELECT oracode_sync_devices()" >/dev/null; done
tap_is "$(q mt_a "SELECT string_agg(device_id::text, ',' ORDER BY display_name) FROM oracode.devices")" "$dev_a1,$dev_a2" \
  "mt_a (key file mt_a.key) synced workspace A's two locks, not B's"
tap_is "$(q mt_c "SELECT string_agg(device_id::text, ',') FROM oracode.devices")" "$dev_b" \
  "mt_c (key file mt_c.key) synced workspace B's lock only"

state_of() { q mt_a "SELECT state FROM oracode.worker_health_all WHERE database = '$1'"; }
running3() { [ "$(q mt_a "SELECT string_agg(database || '=' || state, ',' ORDER BY database) FROM oracode.worker_health_all")" = "mt_a=running,mt_b=running,mt_c=running" ]; }
tap_ok "worker_health_all: one running worker per listed database" wait_until 30 running3
tap_is "$(q postgres "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_stat_activity WHERE backend_type = 'oracode worker'")" \
  "mt_a,mt_b,mt_c" "pg_stat_activity: an oracode worker connected to each of mt_a, mt_b, mt_c"
tap_is "$(q postgres "SELECT count(*) || ' ' || bool_and(datname IS NULL) FROM pg_stat_activity WHERE backend_type = 'oracode launcher'")" "1 true" \
  "one oracode launcher, connected to no database"
for db in mt_a mt_b mt_c; do
  tap_is "$(q "$db" "SELECT h.state || ' ' || h.database || ' ' || (h.pid = a.pid) FROM oracode.worker_health h, oracode.worker_health_all a WHERE a.database = current_database()")" \
    "running $db true" "worker_health in $db: its own worker (the pid worker_health_all gives $db)"
done
tap_is "$(q mt_d "SELECT state FROM oracode.worker_health")" "other database" "worker_health in mt_d (not listed): other database"

# book REF DB DEV DAY: request a code in DB
book() {
  q "$2" "SELECT id FROM oracode_create_code('$3', ((current_date + $4) + time '16:00') AT TIME ZONE 'UTC',
          ((current_date + $4 + 2) + time '11:00') AT TIME ZONE 'UTC', 'Guest $1', '$1')" >/dev/null
}
seam_id() { q "$2" "SELECT seam_access_code_id FROM oracode.access_codes WHERE booking_ref = '$1'"; }
is_sent() { [ -n "$(seam_id "$1" "$2")" ]; }
# the workspace the fake stored a code under: the one of the key that created it
workspace_of() {
  curl -sS "$FAKE_URL/_oracode/access_codes" | node -e '
    const c = JSON.parse(require("fs").readFileSync(0, "utf8")).find((x) => x.access_code_id === process.argv[1]);
    console.log(c ? c.workspace_id : "");' "$1"
}

book R-A1 mt_a "$dev_a1" 10; book R-B1 mt_b "$dev_a2" 10; book R-C1 mt_c "$dev_b" 10
tap_ok "a request in each of the three databases is sent" wait_until 30 eval 'is_sent R-A1 mt_a && is_sent R-B1 mt_b && is_sent R-C1 mt_c'
tap_is "$(workspace_of "$(seam_id R-A1 mt_a)") $(workspace_of "$(seam_id R-B1 mt_b)") $(workspace_of "$(seam_id R-C1 mt_c)")" \
  "$ws_a $ws_a $ws_b" "each reached the fake with its database's key: mt_a and mt_b in workspace A, mt_c in workspace B"

# --- reload: add mt_d and mt_e (no extension), remove mt_b ----------------------------------------
q postgres "ALTER SYSTEM SET oracode.database = 'mt_a,mt_b,mt_c,mt_d,mt_e'" >/dev/null && q postgres "SELECT pg_reload_conf()" >/dev/null
tap_ok "reload: mt_d added gets a running worker" wait_until 30 eval '[ "$(state_of mt_d)" = running ]'
tap_ok "reload: mt_e, listed but without the extension, has no worker (no extension)" wait_until 30 eval '[ "$(state_of mt_e)" = "no extension" ]'
tap_is "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oracode worker' AND datname = 'mt_e'")" 0 \
  "no worker process stays in mt_e"
book R-D1 mt_d "$dev_b" 10
tap_ok "mt_d's request is sent" wait_until 30 is_sent R-D1 mt_d
tap_is "$(workspace_of "$(seam_id R-D1 mt_d)")" "$ws_b" "mt_d's request reached workspace B (mt_d.key)"
q mt_e "CREATE EXTENSION oracode" >/dev/null
tap_ok "mt_e gets a worker once the extension is created there" wait_until 40 eval '[ "$(state_of mt_e)" = running ]'

pid_b=$(q mt_b "SELECT pid FROM oracode.worker_health")
q postgres "ALTER SYSTEM SET oracode.database = 'mt_a,mt_c,mt_d,mt_e'" >/dev/null && q postgres "SELECT pg_reload_conf()" >/dev/null
gone_b() { [ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid_b")" = 0 ]; }
tap_ok "reload: the worker of mt_b, removed, stops" wait_until 30 gone_b
tap_ok "worker_health_all no longer lists mt_b" wait_until 10 eval '[ -z "$(state_of mt_b)" ]'
tap_is "$(q mt_b "SELECT state FROM oracode.worker_health")" "other database" "worker_health in mt_b: other database"
book R-B2 mt_b "$dev_a2" 13; book R-A2 mt_a "$dev_a1" 13
tap_ok "mt_a still sends" wait_until 30 is_sent R-A2 mt_a
sleep 2
tap_is "$(q mt_b "SELECT status FROM oracode.access_codes WHERE booking_ref = 'R-B2'")" queued "mt_b's new request stays queued: nobody serves mt_b"
pid_a=$(q mt_a "SELECT pid FROM oracode.worker_health"); pid_c=$(q mt_c "SELECT pid FROM oracode.worker_health")

# --- a wrong key in mt_a: mt_a pauses, the others send -----------------------------------------------
put_key mt_a "seam_wrong_key_for_mt_a"
book R-A3 mt_a "$dev_a1" 16; book R-C3 mt_c "$dev_b" 16; book R-D3 mt_d "$dev_b" 19
tap_ok "mt_a, with a wrong key, is paused (401)" wait_until 30 eval '[ "$(q mt_a "SELECT state FROM oracode.worker_health")" = paused ]'
tap_ok "mt_c and mt_d send meanwhile" wait_until 30 eval 'is_sent R-C3 mt_c && is_sent R-D3 mt_d'
tap_is "$(q mt_a "SELECT status FROM oracode.access_codes WHERE booking_ref = 'R-A3'")" queued "mt_a's request waits, queued"
tap_is "$(q mt_c "SELECT state FROM oracode.worker_health_all WHERE database = 'mt_a'")" paused "worker_health_all (read in mt_c) says mt_a is paused"
put_key mt_a "$key_a"; q postgres "SELECT pg_reload_conf()" >/dev/null
tap_ok "mt_a's key fixed and reloaded: its request is sent" wait_until 30 is_sent R-A3 mt_a
tap_is "$(q mt_a "SELECT pid FROM oracode.worker_health") $(q mt_c "SELECT pid FROM oracode.worker_health")" "$pid_a $pid_c" \
  "no worker restarted for it"

# --- Seam down for workspace B: mt_c and mt_d retry, mt_a (workspace A) sends -------------------------
curl -sS -X POST -H 'Content-Type: application/json' -d "{\"workspace_id\":\"$ws_b\",\"routes\":[\"/access_codes/create\"]}" \
  "$FAKE_URL/_fake/simulate_workspace_outage" >/dev/null
book R-C6 mt_c "$dev_b" 46; book R-A6 mt_a "$dev_a1" 46
tap_ok "workspace B down: mt_c's request was tried and not sent" wait_until 30 eval \
  '[ "$(q mt_c "SELECT attempts >= 1 AND seam_access_code_id IS NULL FROM oracode.access_codes WHERE booking_ref = '"'R-C6'"'")" = t ]'
tap_ok "meanwhile mt_a (workspace A) sends" wait_until 30 is_sent R-A6 mt_a
fake_call POST /_oracode/end_outage "{\"workspace_id\":\"$ws_b\"}" >/dev/null
tap_ok "workspace B back: mt_c's request is sent" wait_until 30 is_sent R-C6 mt_c

# --- DROP DATABASE of a served database while the others send --------------------------------------
for i in 1 2 3; do book "R-A4$i" mt_a "$dev_a1" $((20 + 3 * i)); book "R-C4$i" mt_c "$dev_b" $((20 + 3 * i)); done
t0=$(date +%s.%N)
drop_out=$(q postgres "DROP DATABASE mt_d")
drop_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
tap_is "$drop_out" "" "DROP DATABASE mt_d succeeds while its worker ran"
tap_ok "and took under 4 s ($drop_s s): the worker left at once" awk -v s="$drop_s" 'BEGIN {exit !(s < 4)}'
all_sent4() { local i; for i in 1 2 3; do is_sent "R-A4$i" mt_a && is_sent "R-C4$i" mt_c || return 1; done; }
tap_ok "mt_a and mt_c send on" wait_until 30 all_sent4
tap_ok "worker_health_all: mt_d dropped (or not connectable), mt_a and mt_c running" wait_until 20 eval \
  '[[ "$(state_of mt_d)" =~ ^(dropped|cannot\ connect)$ && "$(state_of mt_a)" = running && "$(state_of mt_c)" = running ]]'
tap_is "$(q mt_a "SELECT pid FROM oracode.worker_health") $(q mt_c "SELECT pid FROM oracode.worker_health")" "$pid_a $pid_c" \
  "the other workers were not restarted"
q postgres "ALTER SYSTEM SET oracode.database = 'mt_a,mt_c,mt_e'" >/dev/null && q postgres "SELECT pg_reload_conf()" >/dev/null

# --- kill -9 of one database's worker --------------------------------------------------------------
logsz=$(stat -c %s "$CLUSTER_LOG")
kill -9 "$pid_c"
restarted() { [ "$(q mt_a "SELECT string_agg(database || '=' || state, ',' ORDER BY database) FROM oracode.worker_health_all" 2>/dev/null)" = "mt_a=running,mt_c=running,mt_e=running" ]; }
tap_ok "after kill -9 of mt_c's worker every database's worker runs again" wait_until 60 restarted
tail -c +"$logsz" "$CLUSTER_LOG" >"$KEY_DIR/crash.log"
tap_ok "the postmaster saw the crash and reinitialised (every backend restarts)" \
  grep -q "terminated by signal 9" "$KEY_DIR/crash.log"
new_a=$(q mt_a "SELECT pid FROM oracode.worker_health")
tap_ok "mt_a's worker is a new process too (the crash restarted all of them)" [ "$new_a" != "$pid_a" ]
q mt_e "SELECT oracode_sync_devices()" >/dev/null
book R-A5 mt_a "$dev_a1" 40; book R-C5 mt_c "$dev_b" 40; book R-E5 mt_e "$dev_b" 40
tap_ok "after the crash all three databases send" wait_until 40 eval 'is_sent R-A5 mt_a && is_sent R-C5 mt_c && is_sent R-E5 mt_e'

# --- max_worker_processes too small ----------------------------------------------------------------
# PostgreSQL's logical replication launcher, oracode's launcher and two workers fit in 4; the
# third database's worker does not
q postgres "ALTER SYSTEM SET max_worker_processes = 4" >/dev/null
q postgres "ALTER SYSTEM SET max_parallel_workers = 0" >/dev/null
logsz=$(stat -c %s "$CLUSTER_LOG")
cluster_restart || tap_bail "restart failed"
tap_ok "max_worker_processes = 4: worker_health_all says one database has no worker slot" wait_until 30 eval \
  '[ "$(q mt_a "SELECT count(*) FILTER (WHERE state = '"'running'"') || '"' '"' || count(*) FILTER (WHERE state = '"'no worker slot'"') FROM oracode.worker_health_all")" = "2 1" ]'
tail -c +"$logsz" "$CLUSTER_LOG" >"$KEY_DIR/slots.log"
tap_ok "the log has a WARNING about it with a hint to raise max_worker_processes" \
  eval 'grep -q "WARNING:  oracode launcher: no background worker slot free" "$KEY_DIR/slots.log" && grep -q "HINT:  Raise max_worker_processes" "$KEY_DIR/slots.log"'
tap_ok "its last_error says so" eval \
  '[ -n "$(q mt_a "SELECT 1 FROM oracode.worker_health_all WHERE state = '"'no worker slot'"' AND last_error LIKE '"'%max_worker_processes%'"'")" ]'

tap_done
