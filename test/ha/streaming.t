#!/usr/bin/env bash
# High availability with a plain streaming replica: the worker does nothing on
# a hot standby; when the primary dies and the standby is promoted
# (pg_ctl promote), the new primary's worker takes over the queue:
#  - requests the old primary sent are polled, not sent again;
#  - requests held (issue_at) on the old primary are sent by the new one;
#  - a request the old primary was sending when it died, whose create reached
#    Seam, is adopted (found by its name at Seam), not created twice;
#  - one whose create never reached Seam is sent once.
# Seam's fake holds exactly one code per request at the end. Prints TAP.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tap.sh
. test/ha/tap.sh
# shellcheck source=lib.sh
. test/ha/lib.sh
# shellcheck source=../../scripts/fake.sh
. scripts/fake.sh

ha_init
fake_start || tap_bail "cannot start Seam's fake server"
seed=$(fake_seed_lock '{"name":"HA streaming lock","time_zone":"UTC"}') || tap_bail "cannot seed the fake"
FAKE_API_KEY=$(fake_json api_key <<<"$seed"); export FAKE_API_KEY
dev=$(fake_json device_id <<<"$seed")

conf=("oracode.database = '$HA_DB'" "oracode.api_url = '$FAKE_URL'" "oracode.api_key = '$FAKE_API_KEY'"
      "oracode.poll_interval = 1" "oracode.sync_interval = 0" "oracode.retry_max_delay = 2")
node_init primary "${conf[@]}" && node_start primary || tap_bail "cannot start the primary"
NQ_DB=postgres nq primary "CREATE DATABASE $HA_DB" >/dev/null || tap_bail "createdb failed"
nq primary "CREATE EXTENSION oracode" >/dev/null || tap_bail "CREATE EXTENSION failed"
tap_is "$(nq primary 'SELECT oracode_sync_devices()')" 1 "the primary synced the lock from Seam"

node_standby standby primary && node_start standby || tap_bail "cannot start the standby"
wait_until 30 node_caught_up standby primary || tap_bail "the standby does not replay"
tap_is "$(nq standby 'SELECT pg_is_in_recovery()')" t "the standby is a hot standby"
wait_until 20 eval '[ "$(nq primary "SELECT state FROM oracode.worker_health")" = running ]'
tap_is "$(nq primary "SELECT state FROM oracode.worker_health")" running "the primary's worker runs"
sleep 1   # give a wrongly started worker on the standby time to show up
tap_is "$(nq standby "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'oracode worker'")" 0 \
  "no oracode worker on the standby"
tap_is "$(nq standby "SELECT state || ' ' || running || ' ' || in_recovery FROM oracode.worker_health")" "standby false true" \
  "worker_health on the standby: state standby, not running"

# requests on the old primary ------------------------------------------------------------------
# Seam's default slot "Guest 4pm-11am" (UTC) fits these bookings
book() {  # book REF DAY [issue_at SQL]: request a code on the primary
  nq primary "SELECT id FROM oracode_create_code('$dev', ((current_date + $2) + time '16:00') AT TIME ZONE 'UTC', ((current_date + $2 + 2) + time '11:00') AT TIME ZONE 'UTC',
              'Guest $1', '$1', issue_at => ${3:-NULL})" >/dev/null
}
for i in 1 2 3; do book "HA-S$i" $((10 + 3 * i)); done
sent() { [ "$(nq primary "SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'HA-S%' AND seam_access_code_id IS NOT NULL")" = 3 ]; }
tap_ok "the old primary sent three requests" wait_until 30 sent
sent_ids=$(nq primary "SELECT string_agg(seam_access_code_id, ',' ORDER BY id) FROM oracode.access_codes WHERE booking_ref LIKE 'HA-S%'")
# three held until a few seconds from now, so that only the new primary can send them
for i in 1 2 3; do book "HA-H$i" $((30 + 3 * i)) "now() + interval '10 seconds'"; done
# two the old primary had claimed (status sending, under a lease) when it died;
# the create of the first reached Seam, the second's never did
nq primary "BEGIN;
  SELECT count(*) FROM oracode_create_code('$dev', ((current_date + 50) + time '16:00') AT TIME ZONE 'UTC', ((current_date + 52) + time '11:00') AT TIME ZONE 'UTC',
         'Guest HA-F1', 'HA-F1', issue_at => now() + interval '10 seconds');
  SELECT count(*) FROM oracode_create_code('$dev', ((current_date + 53) + time '16:00') AT TIME ZONE 'UTC', ((current_date + 55) + time '11:00') AT TIME ZONE 'UTC',
         'Guest HA-F2', 'HA-F2', issue_at => now() + interval '10 seconds');
  UPDATE oracode.access_codes SET status = 'sending', attempts = 1, sent_at = now(),
         next_attempt_at = now() + interval '1 hour', status_detail = 'create sent to Seam'
   WHERE booking_ref IN ('HA-F1', 'HA-F2');
  COMMIT;" >/dev/null || tap_bail "cannot queue the in-flight requests"
f1=$(nq primary "SELECT json_build_object('device_id', device_id, 'name', seam_name, 'is_offline_access_code', true,
         'starts_at', to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
         'ends_at', to_char(ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))
       FROM oracode.access_codes WHERE booking_ref = 'HA-F1'")
f1_seam=$(fake_call POST /access_codes/create "$f1" | fake_json access_code.access_code_id) || tap_bail "cannot create HA-F1's code at the fake"

tap_ok "the standby replayed every request" wait_until 30 node_caught_up standby primary
tap_is "$(nq standby "SELECT count(*) FROM oracode.access_codes WHERE booking_ref LIKE 'HA-%'")" 8 "the standby holds the eight requests"

tap_is "$(nq standby "SELECT string_agg(status, ',' ORDER BY booking_ref) FROM oracode.access_codes WHERE booking_ref LIKE 'HA-H%' OR booking_ref LIKE 'HA-F%'")" \
  "sending,sending,queued,queued,queued" "held and in-flight requests are still open when the primary dies"

# failover: the primary dies, the standby is promoted ------------------------------------------
node_stop primary immediate
tap_ok "pg_ctl promote promotes the standby" node_promote standby
running() { [ "$(nq standby "SELECT state FROM oracode.worker_health")" = running ]; }
tap_ok "the promoted standby starts its worker" wait_until 30 running
tap_is "$(nq standby "SELECT pg_is_in_recovery()")" f "the promoted standby is a primary"

done_all() {
  [ "$(nq standby "SELECT count(*) FROM oracode.access_codes
                    WHERE booking_ref LIKE 'HA-%' AND seam_access_code_id IS NOT NULL AND status <> 'sending'")" = 8 ]
}
tap_ok "the new primary finishes every request of the old one" wait_until 40 done_all
tap_is "$(nq standby "SELECT string_agg(seam_access_code_id, ',' ORDER BY id) FROM oracode.access_codes WHERE booking_ref LIKE 'HA-S%'")" \
  "$sent_ids" "requests sent by the old primary keep their Seam codes"
tap_is "$(nq standby "SELECT seam_access_code_id FROM oracode.access_codes WHERE booking_ref = 'HA-F1'")" "$f1_seam" \
  "the in-flight create that reached Seam is adopted, not sent again"
tap_is "$(nq standby "SELECT count(*) FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id
                      WHERE a.booking_ref = 'HA-F1' AND e.old_status = 'sending' AND e.detail LIKE 'adopted%'")" 1 \
  "and its history says so"
tap_is "$(nq standby "SELECT string_agg(coalesce(old_status, '-') || '>' || new_status, ' ' ORDER BY e.id)
                      FROM oracode.access_code_events e JOIN oracode.access_codes a ON a.id = e.access_code_id WHERE a.booking_ref = 'HA-S1'")" \
  "->queued queued>sending sending>unset" "the old primary's history of a request is on the new one"

# at Seam: one code per request
codes=$(curl -sS "$FAKE_URL/_oracode/access_codes?device_id=$dev")
names=$(node -e 'for (const c of JSON.parse(require("fs").readFileSync(0, "utf8"))) console.log(c.name)' <<<"$codes" | sort)
tap_is "$(wc -l <<<"$names")" 8 "Seam holds eight codes for the lock"
tap_is "$(uniq -d <<<"$names" | wc -l)" 0 "no name twice: no code was created twice"
tap_is "$names" "$(nq standby "SELECT seam_name FROM oracode.access_codes WHERE booking_ref LIKE 'HA-%' ORDER BY 1" | sort)" \
  "Seam's codes are exactly the eight requests"
tap_done
