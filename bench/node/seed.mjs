// Seed COUNT dormakaba Oracode locks in one workspace of Seam's fake (test/fake-seam/server.mjs),
// with fixed device ids and a fixed API key, so every fresh fake of a benchmark holds the same locks.
//
// usage: node seed.mjs URL COUNT API_KEY   -> prints {"api_key":…,"devices":[{device_id,time_zone}…]}
const [url, countArg, apiKey] = process.argv.slice(2);
const count = Number(countArg);
if (!url || !Number.isInteger(count) || count < 1 || !apiKey) {
  console.error('usage: node seed.mjs URL COUNT API_KEY');
  process.exit(2);
}

// Three zones, so the bodies carry different UTC offsets as a real portfolio's would.
const ZONES = ['America/Los_Angeles', 'America/New_York', 'Europe/Berlin'];

// The n-th benchmark device id: a fixed, valid UUID.
const deviceId = (n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

const devices = [];
for (let n = 1; n <= count; n++) {
  const body = { api_key: apiKey, device_id: deviceId(n), name: `Bench room ${n}`,
                 time_zone: ZONES[n % ZONES.length], site_name: 'Bench resort' };
  const res = await fetch(`${url}/_oracode/seed_lock`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) {
    console.error(`seed_lock ${n}: HTTP ${res.status} ${await res.text()}`);
    process.exit(1);
  }
  devices.push({ device_id: body.device_id, time_zone: body.time_zone });
}
console.log(JSON.stringify({ api_key: apiKey, devices }));
