// collect.mjs — the listening client of test/events/notify.t: LISTEN oracode_code_status and
// write every notification's payload, as received, one per line to stdout; "LISTENING" on
// stderr once the LISTEN is in place. Uses the pg package pinned in scripts/listen-pins.
// Connects with the libpq variables (PGHOST, PGPORT, PGDATABASE, PGUSER); runs until killed.
import { createRequire } from 'node:module';
import { writeSync } from 'node:fs';

const require = createRequire(new URL('../../scripts/listen-pins/package.json', import.meta.url));
const pg = require('pg');

const client = new pg.Client();
await client.connect();
client.on('notification', (msg) => {
  if (msg.channel === 'oracode_code_status') writeSync(1, msg.payload + '\n');
});
await client.query('LISTEN oracode_code_status');
process.stderr.write('LISTENING\n');
