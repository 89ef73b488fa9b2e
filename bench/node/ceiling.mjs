// The fake's own ceiling: autocannon (keep-alive, no pipelining) POSTing one body N times over
// CONNECTIONS connections against Seam's fake, to PATH (default /access_codes/create).
//
// usage: node ceiling.mjs URL API_KEY BODY.json N CONNECTIONS [PATH]
//   Prints one JSON line: {"n","ok","errors","non2xx","seconds","per_second","cpu_seconds"}.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, apiKey, file, nArg, connArg, path = '/access_codes/create'] = process.argv.slice(2);
const n = Number(nArg);
const connections = Number(connArg);
if (!url || !apiKey || !file || !Number.isInteger(n) || n < 1 || !Number.isInteger(connections) || connections < 1) {
  console.error('usage: node ceiling.mjs URL API_KEY BODY.json N CONNECTIONS [PATH]');
  process.exit(2);
}
const body = readFileSync(file, 'utf8').trim();

const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const result = await autocannon({
  url: `${url}${path}`,
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}` },
  body,
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
