#!/usr/bin/env bash
# Events: every status change of a request is announced with NOTIFY oracode_code_status when its
# transaction commits, several changes to a payload, never the PIN. A listening client
# (collect.mjs, node's pg) records every payload while the worker runs against Seam's fake:
#  - a create -> unset -> set sequence arrives in order, and only after its commit;
#  - a rolled-back transaction, a rolled-back savepoint (and what it released into it) and a
#    PL/pgSQL exception block send nothing of theirs;
#  - a bulk INSERT through the booking trigger arrives in several payloads under the size bound,
#    numbered part 1..parts, with each of its requests exactly once; a worker batch is announced
#    together;
#  - changes repeated in one transaction (payloads that would be identical) all arrive;
#  - a PIN that comes after `set` is announced (set -> set, pin_ready);
#  - no payload holds a PIN;
#  - the README's listener (scripts/listen-pins/listen-pins.mjs) prints the PIN as the front desk.
# Brings its own fake and cluster (PG_BINDIR selects the PostgreSQL build). Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../ha/tap.sh
. test/ha/tap.sh
# shellcheck source=../../scripts/cluster.sh
. scripts/cluster.sh
# shellcheck source=../../scripts/fake.sh
. scripts/fake.sh
# shellcheck source=../../scripts/listen.sh
. scripts/listen.sh

DB=oracode_events
listen_install || tap_bail "cannot install the pg package for the listeners"
fake_start || tap_bail "cannot start Seam's fake server"
seed=$(fake_seed_lock '{"name":"Events lock","time_zone":"UTC"}') || tap_bail "cannot seed the fake"
FAKE_API_KEY=$(fake_json api_key <<<"$seed"); export FAKE_API_KEY
dev=$(fake_json device_id <<<"$seed")
cluster_start "oracode.database = '$DB'" "oracode.api_url = '$FAKE_URL'" "oracode.api_key = '$FAKE_API_KEY'" \
  "oracode.poll_interval = 1" "oracode.sync_interval = 0" "oracode.retry_max_delay = 2" \
  "oracode.create_rate_limit = 100000" "max_prepared_transactions = 2" || tap_bail "cannot start PostgreSQL"
export PGDATABASE=$DB
createdb "$DB" || tap_bail "createdb failed"

# q SQL...: run statements as the superuser, print the last one's rows (-At)
q() {
  local args=() s
  for s in "$@"; do args+=(-c "$s"); done
  psql -X -q -At -v ON_ERROR_STOP=1 "${args[@]}"
}
q "CREATE EXTENSION oracode" "SELECT oracode_sync_devices()" >/dev/null || tap_bail "cannot create the extension"
q "CREATE ROLE frontdesk LOGIN" "GRANT USAGE ON SCHEMA oracode TO frontdesk" \
  "GRANT SELECT (id, device_id, booking_ref, status, code) ON oracode.access_codes TO frontdesk" \
  "CREATE SCHEMA t" "CREATE TABLE t.got (n serial PRIMARY KEY, payload jsonb NOT NULL)" \
  "CREATE VIEW t.changes AS SELECT g.n, e.ord, e.c, (e.c->>'id')::bigint AS id, e.c->>'booking_ref' AS ref,
     e.c->>'old_status' AS old_status, e.c->>'new_status' AS new_status
     FROM t.got g, jsonb_array_elements(g.payload->'changes') WITH ORDINALITY AS e(c, ord)" \
  || tap_bail "cannot set up the test schema"

# create REF DAY [more oracode_create_code arguments]: the SQL that requests a code for REF
create() {
  echo "SELECT id FROM oracode_create_code(device_id => '$dev',
    starts_at => ((current_date + $2) + time '16:00') AT TIME ZONE 'UTC',
    ends_at => ((current_date + $2 + 2) + time '11:00') AT TIME ZONE 'UTC', name => 'Guest',
    booking_ref => '$1'${3:+, $3})"
}

# the listening client: every payload, one per line
GOT=$CLUSTER_DIR/got.jsonl
node test/events/collect.mjs >"$GOT" 2>"$CLUSTER_DIR/collect.err" &
COLLECT_PID=$!
on_exit "kill $COLLECT_PID 2>/dev/null"
wait_until 20 grep -q LISTENING "$CLUSTER_DIR/collect.err" || tap_bail "the listening client did not start"

# load: the payloads received so far into t.got
load() {
  q "TRUNCATE t.got RESTART IDENTITY" \
    "\\copy t.got (payload) FROM '$GOT' WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')" >/dev/null
}
# seen REF [NEW_STATUS]: how many changes of REF (to NEW_STATUS) were received
seen() {
  load
  q "SELECT count(*) FROM t.changes WHERE ref = '$1' ${2:+AND new_status = '$2'}"
}
# arrived REF NEW_STATUS: true once a change of REF to NEW_STATUS was received
arrived() { [ "$(seen "$1" "$2")" -gt 0 ]; }
# marker: commit a request (unrelated to the checks) and wait for its notification, so that
# everything committed before it has been delivered (notifications arrive in commit order)
MARKS=0
marker() {
  MARKS=$((MARKS + 1))
  q "$(create "MARK-$MARKS" $((60 + MARKS)) "issue_at => now() + interval '30 days'")" >/dev/null
  wait_until 20 arrived "MARK-$MARKS" queued
}

# ---- 1. nothing before commit; then create -> sending -> unset -> set, in order ----------------
before=$(psql -X -q -At -v ON_ERROR_STOP=1 <<SQL
BEGIN;
$(create SEQ-1 20) \\g /dev/null
SELECT pg_sleep(1.5);
\\! grep -c 'SEQ-1' '$GOT' || true
COMMIT;
SQL
)
tap_is "$(tail -n 1 <<<"$before")" 0 "nothing is notified while the creating transaction is open"
tap_ok "the create is notified once it commits" wait_until 20 arrived SEQ-1 queued
tap_ok "the worker sends it and Seam answers unset" wait_until 60 arrived SEQ-1 unset

# the README's listener, as the front desk, waits for the PIN
PGUSER=frontdesk node "$LISTEN_PINS_DIR/listen-pins.mjs" SEQ-1 60 >"$CLUSTER_DIR/pin.out" 2>"$CLUSTER_DIR/pin.err" &
PIN_PID=$!
on_exit "kill $PIN_PID 2>/dev/null"
wait_until 20 grep -q "listening for booking SEQ-1" "$CLUSTER_DIR/pin.err"
quietly fake_call POST /_oracode/set_all "{\"device_id\":\"$dev\"}"
tap_ok "the code set at Seam is notified" wait_until 30 arrived SEQ-1 set
seq_id=$(q "SELECT id FROM oracode.access_codes WHERE booking_ref = 'SEQ-1'")
tap_is "$(q "SELECT string_agg(coalesce(old_status, 'null') || '>' || new_status, ' ' ORDER BY n, ord)
             FROM t.changes WHERE id = $seq_id")" \
  "null>queued queued>sending sending>unset unset>set" "its changes arrive in order: queued, sending, unset, set"
tap_is "$(q "SELECT string_agg(coalesce(old_status, 'null') || '>' || new_status, ' ' ORDER BY id)
             FROM oracode.access_code_events WHERE access_code_id = $seq_id")" \
  "null>queued queued>sending sending>unset unset>set" "... the same changes as its history rows"
tap_is "$(q "SELECT c::text FROM t.changes WHERE id = $seq_id AND new_status = 'set'")" \
  "$(q "SELECT jsonb_build_object('id', id, 'booking_ref', booking_ref, 'device_id', device_id,
          'old_status', 'unset', 'new_status', 'set', 'pin_ready', true)::text
        FROM oracode.access_codes WHERE id = $seq_id")" \
  "a change holds the request id, booking_ref, device id, old and new status and pin_ready"

wait "$PIN_PID"; pin_rc=$?
tap_is "$pin_rc" 0 "the README's listener exits once the PIN is ready"
tap_is "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).code)' "$CLUSTER_DIR/pin.out" 2>/dev/null)" \
  "$(q "SELECT code FROM oracode.access_codes WHERE id = $seq_id")" "... and prints the PIN it read as the front desk"
[ "$pin_rc" = 0 ] || tap_diag - <"$CLUSTER_DIR/pin.err"

# ---- 2. nothing from what is rolled back ------------------------------------------------------
psql -X -q -At -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
$(create RB-1 21);
ROLLBACK;
BEGIN;
$(create SP-keep 22);
SAVEPOINT a;
$(create SP-drop 23);
SAVEPOINT b;
$(create SP-drop-inner 24);
RELEASE b;
ROLLBACK TO a;
$(create SP-keep2 25);
DO \$\$
BEGIN
  PERFORM oracode_create_code(device_id => '$dev', starts_at => ((current_date + 26) + time '16:00') AT TIME ZONE 'UTC',
    ends_at => ((current_date + 28) + time '11:00') AT TIME ZONE 'UTC', name => 'Guest', booking_ref => 'SP-exception');
  RAISE EXCEPTION 'undo';
EXCEPTION WHEN raise_exception THEN NULL;
END
\$\$;
COMMIT;
SQL
marker || tap_bail "a committed request was not notified"
tap_is "$(seen RB-1)" 0 "a rolled-back transaction notifies nothing"
tap_is "$(q "SELECT string_agg(ref, ' ' ORDER BY n, ord) FROM t.changes WHERE ref LIKE 'SP-%' AND old_status IS NULL")" \
  "SP-keep SP-keep2" "a rolled-back savepoint, a savepoint released into it and an exception block notify nothing of theirs"
tap_is "$(q "SELECT count(DISTINCT n) FROM t.changes WHERE ref IN ('SP-keep', 'SP-keep2') AND old_status IS NULL")" 1 \
  "... and the committed changes of that transaction came in one notification"

# ---- 3. a bulk insert through the booking trigger ------------------------------------------------
# (references without digits, BKhgh and so on, so that no PIN can be found in one by chance)
q "CREATE TABLE bookings (ref text PRIMARY KEY, lock uuid, check_in timestamptz, check_out timestamptz)" \
  "CREATE TRIGGER bookings_oracode AFTER INSERT OR UPDATE OR DELETE ON bookings
     FOR EACH ROW EXECUTE FUNCTION oracode_booking_trigger('device=lock', 'starts=check_in', 'ends=check_out', 'ref=ref')" \
  "INSERT INTO bookings SELECT 'BK' || translate(i::text, '0123456789', 'ghijklmnop'), '$dev',
     ((current_date + 30 + i % 200) + time '16:00') AT TIME ZONE 'UTC',
     ((current_date + 32 + i % 200) + time '11:00') AT TIME ZONE 'UTC' FROM generate_series(1, 250) i" >/dev/null
# bulk_seen STATUS: how many changes of the bulk's requests to STATUS were received
bulk_seen() {
  load
  q "SELECT count(*) FROM t.changes WHERE ref ~ '^BK[g-p]+\$' AND new_status = '$1'"
}
wait_until 20 eval '[ "$(bulk_seen queued)" -ge 250 ]'
tap_is "$(q "SELECT count(*) || ' ' || count(DISTINCT id) FROM t.changes WHERE ref ~ '^BK[g-p]+\$' AND old_status IS NULL")" \
  "250 250" "a bulk insert of 250 bookings notifies each new request exactly once"
tap_is "$(q "SELECT count(*) FROM t.changes c JOIN oracode.access_codes a ON a.id = c.id
             WHERE c.ref ~ '^BK[g-p]+\$' AND c.old_status IS NULL AND c.new_status = 'queued'
               AND c.ref = a.booking_ref AND (c.c->>'device_id')::uuid = a.device_id")" 250 \
  "... each with its booking_ref and device id"
tap_is "$(q "WITH p AS (SELECT DISTINCT n FROM t.changes WHERE ref ~ '^BK[g-p]+\$' AND old_status IS NULL)
             SELECT count(*) > 1 AND bool_and((g.payload->>'parts')::int = (SELECT count(*) FROM p))
                    AND array_agg((g.payload->>'part')::int ORDER BY g.n) = (SELECT array_agg(i) FROM generate_series(1, (SELECT count(*) FROM p)::int) i)
             FROM t.got g JOIN p USING (n)")" t \
  "... in several notifications, numbered part 1 to parts, in order"
tap_ok "the worker sends them" wait_until 90 eval '[ "$(bulk_seen unset)" -ge 250 ]'
marker
tap_is "$(q "SELECT max(k) > 1 FROM (SELECT n, count(*) AS k FROM t.changes WHERE new_status = 'sending' GROUP BY n) x")" t \
  "a worker batch announces its changes together, several to a notification"
tap_is "$(q "SELECT count(*) || ' ' || count(DISTINCT id) FROM t.changes WHERE ref ~ '^BK[g-p]+\$' AND new_status = 'unset'")" \
  "250 250" "... and every change of every batch arrives once"

# ---- 4. repeated changes in one transaction ---------------------------------------------------------
q "$(create TOGGLE 40 "issue_at => now() + interval '30 days'")" >/dev/null
q "DO \$\$ BEGIN FOR i IN 1..60 LOOP
     UPDATE oracode.access_codes SET status = 'cancelled' WHERE booking_ref = 'TOGGLE';
     UPDATE oracode.access_codes SET status = 'queued' WHERE booking_ref = 'TOGGLE';
   END LOOP; END \$\$" >/dev/null
marker
tap_is "$(q "SELECT count(*) FILTER (WHERE new_status = 'cancelled') || ' ' || count(*) FILTER (WHERE old_status = 'cancelled')
             FROM t.changes WHERE ref = 'TOGGLE' AND old_status IS NOT NULL")" "60 60" \
  "a transaction repeating the same changes has every one of its 120 changes notified"
tap_is "$(q "SELECT count(*) > count(DISTINCT g.payload->'changes') FROM t.got g
             WHERE g.n IN (SELECT n FROM t.changes WHERE ref = 'TOGGLE' AND old_status IS NOT NULL)")" t \
  "... though several of its parts hold the very same changes (NOTIFY would send identical payloads once)"
tap_is "$(q "SELECT bool_and(new_status = CASE WHEN r % 2 = 1 THEN 'cancelled' ELSE 'queued' END)
             FROM (SELECT new_status, row_number() OVER (ORDER BY n, ord) AS r FROM t.changes
                   WHERE ref = 'TOGGLE' AND old_status IS NOT NULL) x")" t "... in the order they were made"

# ---- 5. a PIN that comes after set ------------------------------------------------------------------
# (Seam's fake assigns a PIN when it creates a code; what the worker and the webhook write when
# Seam reports a code set before its PIN, and its PIN later, is written here by hand)
late_id=$(q "$(create LATE 41 "issue_at => now() + interval '30 days'")")
q "UPDATE oracode.access_codes SET status = 'set', status_detail = 'set at Seam; waiting for its PIN' WHERE id = $late_id" \
  "UPDATE oracode.access_codes SET code = '424242' WHERE id = $late_id" \
  "UPDATE oracode.access_codes SET status = 'set', code = '424242' WHERE id = $late_id" \
  "UPDATE oracode.access_codes SET code = '515151' WHERE id = $late_id" >/dev/null
marker
tap_is "$(q "SELECT string_agg(coalesce(old_status, 'null') || '>' || new_status || ':' || (c->>'pin_ready'), ' ' ORDER BY n, ord)
             FROM t.changes WHERE id = $late_id")" \
  "null>queued:false queued>set:false set>set:true set>set:true" \
  "a code set before its PIN is announced with pin_ready false; the PIN's arrival, and a new PIN, as set to set with pin_ready true"
tap_is "$(q "SELECT count(*) FROM oracode.access_code_events WHERE access_code_id = $late_id AND old_status = 'set'")" 0 \
  "... which are no status changes in the history"

# ---- 6. a booking_ref too long for a payload; PREPARE --------------------------------------------
long=$(printf 'L%.0s' $(seq 1 1500))
long_id=$(q "$(create "$long" 42 "issue_at => now() + interval '30 days'")")
marker
tap_is "$(q "SELECT coalesce(c->>'booking_ref', 'null') || ' ' || (c->>'booking_ref_omitted') FROM t.changes WHERE id = $long_id")" "null true" \
  "a booking_ref over 1024 bytes is left out (null, booking_ref_omitted)"
prep=$(psql -X -q -At 2>&1 <<SQL
BEGIN;
$(create PREP 43);
PREPARE TRANSACTION 'p1';
SQL
)
tap_ok "a transaction that changed a status cannot be prepared" grep -q "cannot PREPARE a transaction that changed the status of a code request" <<<"$prep"
tap_is "$(q "SELECT count(*) FROM oracode.access_codes WHERE booking_ref = 'PREP'") $(q "SELECT count(*) FROM pg_prepared_xacts")" "0 0" \
  "... it is rolled back"

# ---- 7. the payloads themselves ---------------------------------------------------------------------
load
tap_is "$(LC_ALL=C awk 'length($0) > 4000' "$GOT" | wc -l) $(wc -l <"$GOT")" "0 $(q "SELECT count(*) FROM t.got")" \
  "every payload is at most 4000 bytes"
tap_is "$(q "SELECT count(*) FROM t.changes WHERE NOT (c ?& array['id', 'booking_ref', 'device_id', 'old_status', 'new_status', 'pin_ready'])
             OR EXISTS (SELECT FROM jsonb_object_keys(c) k WHERE k NOT IN ('id', 'booking_ref', 'device_id', 'old_status',
                        'new_status', 'pin_ready', 'booking_ref_omitted'))")" 0 "every change has exactly the documented keys"
tap_is "$(q "SELECT count(*) >= 2 FROM oracode.access_codes WHERE code IS NOT NULL")" t "codes with PINs were notified"
tap_is "$(q "SELECT count(*) FROM oracode.access_codes a, t.got g WHERE a.code IS NOT NULL
             AND g.payload::text ~ ('(^|[^0-9a-f])' || a.code || '([^0-9a-f]|\$)')")" 0 "no payload holds any PIN"
q "SELECT a.code, g.payload::text FROM oracode.access_codes a, t.got g WHERE a.code IS NOT NULL
   AND g.payload::text ~ ('(^|[^0-9a-f])' || a.code || '([^0-9a-f]|\$)') LIMIT 3" | tap_diag -
tap_is "$(q "SELECT count(*) FROM t.got WHERE payload ?| array['code', 'pin'] OR payload::text LIKE '%\"code\"%'")" 0 \
  "no payload has a code field"

tap_done
