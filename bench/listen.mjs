// listen.mjs — the listener of bench/issue.sh's "worker (send), listening" contender: LISTEN
// oracode_code_status, parse every payload and count its notifications and changes (by new
// status); "LISTENING" on stderr once the LISTEN is in place; on SIGTERM prints the counts as
// one JSON line and exits. Uses the pg package pinned in scripts/listen-pins (scripts/listen.sh).
// Connects with the libpq variables (PGHOST, PGPORT, PGDATABASE, PGUSER).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../scripts/listen-pins/package.json', import.meta.url));
const pg = require('pg');

const counts = { notifications: 0, changes: 0, bytes: 0, by_status: {} };
const client = new pg.Client();
await client.connect();
client.on('notification', (msg) => {
  counts.notifications++;
  counts.bytes += Buffer.byteLength(msg.payload);
  for (const c of JSON.parse(msg.payload).changes) {
    counts.changes++;
    counts.by_status[c.new_status] = (counts.by_status[c.new_status] ?? 0) + 1;
  }
});
process.on('SIGTERM', async () => {
  console.log(JSON.stringify(counts));
  await client.end().catch(() => {});
  process.exit(0);
});
await client.query('LISTEN oracode_code_status');
process.stderr.write('LISTENING\n');
