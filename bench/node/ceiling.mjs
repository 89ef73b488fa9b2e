// The fake's own ceiling: autocannon (keep-alive, no pipelining) POSTing N requests over
// CONNECTIONS connections against Seam's fake, to PATH (default /access_codes/create).
//
// usage: node ceiling.mjs URL API_KEY BODIES N CONNECTIONS [PATH]
//   BODIES: one JSON body per line; the requests take them in turn (so creates spread over the
//   same locks as the other contenders': the fake's work per create depends on the lock's codes).
//   Prints one JSON line: {"n","ok","errors","non2xx","seconds","per_second","cpu_seconds"}.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, apiKey, file, nArg, connArg, path = '/access_codes/create'] = process.argv.slice(2);
const n = Number(nArg);
const connections = Number(connArg);
if (!url || !apiKey || !file || !Number.isInteger(n) || n < 1 || !Number.isInteger(connections) || connections < 1) {
  console.error('usage: node ceiling.mjs URL API_KEY BODIES N CONNECTIONS [PATH]');
  process.exit(2);
}
const bodies = readFileSync(file, 'utf8').split('\n').filter(Boolean);
let next = 0;

const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const result = await autocannon({
  url: `${url}${path}`,
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}` },
  body: bodies[0],
  // each request takes the next body; autocannon's per-request hook, cheap next to the fake
  requests: [{ setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
  connections,
  pipelining: 1,
  amount: n,
  timeout: 60,
});
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const cpu_seconds = (cpu.user + cpu.system) / 1e6; // this client's own CPU, all its threads
const ok = result['2xx'];
console.log(JSON.stringify({ n, ok, errors: result.errors + result.timeouts, non2xx: result.non2xx,
                             seconds, per_second: ok / seconds, cpu_seconds }));
