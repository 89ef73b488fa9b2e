// Contender: Seam's official JavaScript SDK (npm `seam`, pinned in package.json) creating the
// benchmark's codes, CONCURRENCY requests in flight, against Seam's fake.
//
// usage: node sdk.mjs URL API_KEY BODIES.jsonl CONCURRENCY
//   BODIES.jsonl: one access_codes/create body per line, exactly what the oracode worker sends.
//   Prints one JSON line: {"n","ok","errors","seconds","per_second","cpu_seconds","first_error"}.
//   The clock runs from the first request to the last answer; reading the file and building
//   the client happen before it starts.
import { readFileSync } from 'node:fs';
import { Seam } from 'seam';

const [url, apiKey, file, concArg] = process.argv.slice(2);
const concurrency = Number(concArg);
if (!url || !apiKey || !file || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('usage: node sdk.mjs URL API_KEY BODIES.jsonl CONCURRENCY');
  process.exit(2);
}
const bodies = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
// the SDK's default client: its own axios instance and retry policy, node's keep-alive agent
const seam = new Seam({ apiKey, endpoint: url });

let next = 0;
let ok = 0;
let errors = 0;
let firstError = null;

// One of CONCURRENCY loops: take the next body, create the code, until none is left.
async function lane() {
  while (next < bodies.length) {
    const body = bodies[next++];
    try {
      const code = await seam.accessCodes.create(body);
      if (code && code.access_code_id) ok++; else throw new Error('no access_code_id in the answer');
    } catch (e) {
      errors++;
      firstError ??= String(e?.message ?? e);
    }
  }
}

const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
await Promise.all(Array.from({ length: concurrency }, lane));
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const cpu_seconds = (cpu.user + cpu.system) / 1e6; // this client's own CPU, all its threads
console.log(JSON.stringify({ n: bodies.length, ok, errors, seconds, per_second: ok / seconds, cpu_seconds,
                             first_error: firstError }));
