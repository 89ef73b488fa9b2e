// listen-pins.mjs — how a PMS learns that a guest's PIN is ready: LISTEN oracode_code_status,
// wait for a change of the booking to `set` with its PIN assigned, then read the PIN with the
// PMS's own grant (SELECT on oracode.access_codes.code). The notification never holds the PIN.
//
// Usage: node scripts/listen-pins/listen-pins.mjs BOOKING_REF [TIMEOUT_SECONDS]
//   Connects with the usual libpq variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD),
//   waits for a code of the booking to be set with its PIN, prints it as one JSON line
//   {"id", "booking_ref", "device_id", "code"} and exits 0; exits 1 after the timeout (default 600).
// Install its one package (pg, pinned in package.json) with `npm ci` in this directory.
import pg from 'pg';

const [ref, timeoutArg = '600'] = process.argv.slice(2);
if (!ref) {
  console.error('usage: listen-pins.mjs BOOKING_REF [TIMEOUT_SECONDS]');
  process.exit(2);
}

const client = new pg.Client();
await client.connect();

let done = false;
// Print the PIN of request id if it is set and has one; true when it did.
async function readPin(id) {
  const { rows } = await client.query(
    "SELECT id, booking_ref, device_id, code FROM oracode.access_codes WHERE id = $1 AND status = 'set' AND code IS NOT NULL",
    [id]);
  if (rows.length === 0 || done) return false;
  done = true;
  console.log(JSON.stringify({ ...rows[0], id: Number(rows[0].id) }));
  return true;
}

// Queue the notifications' reads one after another, in the order they arrive.
let queue = Promise.resolve();
client.on('notification', (msg) => {
  if (msg.channel !== 'oracode_code_status') return;
  for (const c of JSON.parse(msg.payload).changes) {
    if (c.booking_ref === ref && c.new_status === 'set' && c.pin_ready) {
      queue = queue.then(() => readPin(c.id)).then((ok) => ok && finish(0));
    }
  }
});

// Close the connection and exit.
async function finish(rc) {
  clearTimeout(timer);
  await client.end().catch(() => {});
  process.exit(rc);
}
const timer = setTimeout(() => {
  console.error(`listen-pins: no PIN for booking ${ref} within ${timeoutArg} s`);
  finish(1);
}, Number(timeoutArg) * 1000);

// Listen first, then look: a code set before we listened is found by the query.
await client.query('LISTEN oracode_code_status');
const { rows } = await client.query(
  "SELECT id FROM oracode.access_codes WHERE booking_ref = $1 AND status = 'set' AND code IS NOT NULL ORDER BY id LIMIT 1",
  [ref]);
console.error(`listen-pins: listening for booking ${ref}`);
if (rows.length > 0) queue = queue.then(() => readPin(rows[0].id)).then((ok) => ok && finish(0));
