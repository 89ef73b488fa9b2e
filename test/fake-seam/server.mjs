#!/usr/bin/env node
// Seam's official fake API (@seamapi/fake-seam-connect), served on 127.0.0.1 only, plus
// /_oracode/* control routes for the oracode tests (seed an Oracode lock, move codes to "set", ...).
//
// usage: node server.mjs [--port N | N] [--parent-pid PID] [--max-seconds S] [--record FILE]
//   env fallbacks: FAKE_SEAM_PORT, FAKE_SEAM_PARENT_PID, FAKE_SEAM_MAX_SECONDS, FAKE_SEAM_RECORD
//   port 0 (the default) picks a free port. Prints exactly one line on stdout,
//   "READY http://127.0.0.1:<port>", once listening; everything else goes to stderr.
//   Exits on SIGTERM/SIGINT, when the parent pid is gone (checked every second), or after
//   max-seconds (default 3600; 0 = no limit).
//   --record FILE appends one JSON line per Seam request served (not the /_oracode/* ones) to
//   FILE, for the contract test (test/contract/check.mjs): see record() below.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { randomInt, randomUUID, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createFake } from '@seamapi/fake-seam-connect'; // the package's dist/index.js

const HOST = '127.0.0.1';
const PREFIX = '/_oracode/';

// Keep stdout for the READY line: the fake's logger writes through console.log.
console.log = console.info = console.debug = console.error;

// Read --port/--parent-pid/--max-seconds (or a bare port, or the FAKE_SEAM_* environment).
function options() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' }, 'parent-pid': { type: 'string' }, 'max-seconds': { type: 'string' }, record: { type: 'string' },
    },
  });
  const env = process.env;
  const num = (v, dflt) => {
    const n = Number(v ?? dflt);
    if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
    return n;
  };
  return {
    port: num(values.port ?? positionals[0] ?? env.FAKE_SEAM_PORT, 0),
    parentPid: num(values['parent-pid'] ?? env.FAKE_SEAM_PARENT_PID, 0),
    maxSeconds: num(values['max-seconds'] ?? env.FAKE_SEAM_MAX_SECONDS, 3600),
    record: values.record ?? env.FAKE_SEAM_RECORD ?? '',
  };
}

// Force every http.Server (the fake's included, whose listen() passes no host) onto 127.0.0.1.
function forceLoopback() {
  const listen = http.Server.prototype.listen;
  http.Server.prototype.listen = function (arg, ...rest) {
    const opts = typeof arg === 'object' && arg !== null ? { ...arg, host: HOST } : { port: Number(arg ?? 0), host: HOST };
    return listen.call(this, opts, ...rest.filter((a) => typeof a === 'function'));
  };
}

// Ask the kernel for a free port on 127.0.0.1 (the fake needs the port up front for its base URL).
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, HOST, () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// An error that the control router turns into a JSON error response.
class HttpError extends Error {
  constructor(status, type, message) { super(message); this.status = status; this.type = type; }
}

// A random 6-digit numeric code (may start with 0).
const sixDigits = () => String(randomInt(0, 1e6)).padStart(6, '0');

// A random API key token in the shape the fake accepts (not seam_at*/seam_cst1*, not a JWT).
const randomToken = () => `seam_test${randomBytes(2).toString('hex')}_${randomBytes(12).toString('hex')}`;

// Four realistic Oracode time slots (all 10 Seam fields) in time zone tz.
function defaultSlots(tz) {
  const slot = (name, prefix, inT, outT, is24) => ({
    name, prefix, check_in_time: `${inT}[${tz}]`, check_out_time: `${outT}[${tz}]`,
    is_24_hour: is24, is_biweekly_mode: false, is_one_shot: false, is_master: false,
    ext_dormakaba_oracode_user_level_prefix: prefix, dormakaba_oracode_user_level_id: randomUUID(),
  });
  return [
    slot('Guest RCI 3:30pm-10:30am', 0, '15:30:00', '10:30:00', false),
    slot('Guest 4pm-11am', 1, '16:00:00', '11:00:00', false),
    slot('Guest ECI 3pm-10am', 2, '15:00:00', '10:00:00', false),
    slot('Guest 24h 12pm-12pm', 3, '12:00:00', '12:00:00', true),
  ];
}

// Merge fields into stored access code c; like Seam, emit access_code.set_on_device when it becomes "set".
function patchCode(db, c, fields) {
  const updated = db.updateAccessCode({ ...fields, access_code_id: c.access_code_id });
  if (updated.status === 'set' && c.status !== 'set') {
    const connected_account_id = db.devices.find((d) => d.device_id === c.device_id)?.connected_account_id;
    db.addEvent({ event_type: 'access_code.set_on_device', workspace_id: c.workspace_id, device_id: c.device_id, access_code_id: c.access_code_id, connected_account_id });
  }
  return updated;
}

// Build the control routes around the fake's store db; state holds the counters and auto_set delay.
function controlRoutes(db, state) {
  // Throw 400 unless v is undefined or of the given typeof.
  const check = (v, type, name) => {
    if (v !== undefined && typeof v !== type) throw new HttpError(400, 'invalid_input', `${name} must be a ${type}`);
  };
  // The stored access code with this id, or a 404.
  const findCode = (id) => {
    const code = db.access_codes.find((c) => c.access_code_id === id);
    if (!code) throw new HttpError(404, 'access_code_not_found', `no access code ${id}`);
    return code;
  };

  return {
    // Create (or reuse) a sandbox workspace, API key, Oracode connected account, and an Oracode door.
    // code_constraints: the door's properties.code_constraints; cut_names_to: N makes the door keep
    // only the first N characters of each new code's name, without declaring it (a provider's cut).
    'POST seed_lock': (b) => {
      ['workspace_id', 'api_key', 'device_id', 'name', 'time_zone', 'site_name'].forEach((k) => check(b[k], 'string', k));
      check(b.can_program_offline_access_codes, 'boolean', 'can_program_offline_access_codes');
      if (b.time_slots !== undefined && !Array.isArray(b.time_slots)) throw new HttpError(400, 'invalid_input', 'time_slots must be an array');
      if (b.code_constraints !== undefined && !Array.isArray(b.code_constraints)) throw new HttpError(400, 'invalid_input', 'code_constraints must be an array');
      if (b.cut_names_to !== undefined && !(Number.isInteger(b.cut_names_to) && b.cut_names_to > 0)) throw new HttpError(400, 'invalid_input', 'cut_names_to must be a positive integer');
      const tz = b.time_zone ?? 'America/Los_Angeles';
      try { new Intl.DateTimeFormat('en', { timeZone: tz }); } catch { throw new HttpError(400, 'invalid_input', `unknown time zone ${tz}`); }
      if (b.api_key && /^seam_(at|cst1)/.test(b.api_key)) throw new HttpError(400, 'invalid_input', 'api_key must not start with seam_at or seam_cst1');
      const device_id = b.device_id ?? randomUUID();
      if (db.devices.some((d) => d.device_id === device_id)) throw new HttpError(409, 'duplicate_device', `device ${device_id} exists`);

      const oldKey = db.api_keys.find((k) => k.token === b.api_key);
      const workspace_id = b.workspace_id ?? oldKey?.workspace_id ?? randomUUID();
      if (oldKey && oldKey.workspace_id !== workspace_id) throw new HttpError(409, 'api_key_in_other_workspace', 'api_key belongs to another workspace');
      if (!db.workspaces.some((w) => w.workspace_id === workspace_id)) db.addWorkspace({ workspace_id, name: 'oracode test workspace', is_sandbox: true });
      // no api_key asked for: reuse the workspace's first key, if it has one
      const key = oldKey
        ?? (b.api_key === undefined ? db.api_keys.find((k) => k.workspace_id === workspace_id) : undefined)
        ?? db.addApiKey({ workspace_id, token: b.api_key ?? randomToken() });
      const account = db.connected_accounts.find((a) => a.workspace_id === workspace_id && a.provider === 'dormakaba_oracode')
        ?? db.addConnectedAccount({ connected_account_id: randomUUID(), workspace_id, provider: 'dormakaba_oracode', user_identifier: { username: 'oracode-site' } });

      const door = randomInt(100, 1000);
      const name = b.name ?? `Room ${door}`;
      const site_name = b.site_name ?? 'Test Site';
      db.addDevice({
        device_id, device_type: 'dormakaba_oracode_door', name, display_name: name, workspace_id,
        connected_account_id: account.connected_account_id,
        can_remotely_lock: false, can_remotely_unlock: false, can_program_online_access_codes: false,
        properties: {
          manufacturer: 'dormakaba_oracode',
          model: { display_name: 'Oracode 660', manufacturer_display_name: 'dormakaba Oracode', offline_access_codes_supported: true, online_access_codes_supported: false },
          offline_access_codes_enabled: true, online_access_codes_enabled: false,
          ...(b.code_constraints ? { code_constraints: b.code_constraints } : {}),
          dormakaba_oracode_metadata: {
            door_id: door, door_name: name, device_id: randomInt(10000, 100000), door_is_wireless: false,
            site_id: null, site_name, iana_timezone: tz, predefined_time_slots: b.time_slots ?? defaultSlots(tz),
          },
        },
      });
      // addDevice drops can_program_offline_access_codes and hard-codes the capabilities
      db.updateDevice({ device_id, capabilities_supported: ['access_code'], can_program_offline_access_codes: b.can_program_offline_access_codes ?? true });
      // a lock that keeps only the first N characters of a code's name, without saying so
      if (b.cut_names_to) state.cutNames[device_id] = b.cut_names_to;
      db.addEvent({ event_type: 'device.connected', workspace_id, device_id, connected_account_id: account.connected_account_id });
      return { workspace_id, api_key: key.token, device_id, connected_account_id: account.connected_account_id };
    },

    // A personal access token (seam_at…), which acts in the workspace its seam-workspace header
    // names (see personalAccessToken: the fake's own access-token check fails on these routes).
    'POST add_access_token': () => {
      const token = `seam_at1_${randomBytes(16).toString('hex')}`;
      state.accessTokens.add(token);
      return { token };
    },

    // Merge arbitrary fields into a stored access code.
    'POST update_access_code': (b) => {
      check(b.access_code_id, 'string', 'access_code_id');
      return { access_code: patchCode(db, findCode(b.access_code_id), b) };
    },

    // Move every code (of one device, optionally) that is not in `status` to it; give code-less ones 6 digits.
    'POST set_all': (b) => {
      check(b.device_id, 'string', 'device_id');
      check(b.status, 'string', 'status');
      const status = b.status ?? 'set';
      const todo = db.access_codes.filter((c) => c.status !== status && (!b.device_id || c.device_id === b.device_id));
      for (const c of todo) patchCode(db, c, { status, ...(c.code ? {} : { code: sixDigits() }) });
      return { updated: todo.length };
    },

    // Drop an access code from the store, as Seam does once a time-bound code has expired.
    'POST delete_access_code': (b) => {
      check(b.access_code_id, 'string', 'access_code_id');
      findCode(b.access_code_id);
      db.deleteAccessCode(b.access_code_id);
      return { deleted: b.access_code_id };
    },

    // Request counts by path, stored code count, and codes created per device.
    'GET stats': () => ({ requests: state.requests, access_codes: db.access_codes.length, creates_by_device: state.creates,
      requests_with_token: state.requestsWithToken ?? 0 }),

    // Zero the request and create counters.
    'POST reset_stats': () => { state.requests = {}; state.creates = {}; return { reset: true }; },

    // The stored access codes, all or one device's (?device_id=X), as a JSON array.
    'GET access_codes': (_b, q) => db.access_codes.filter((c) => !q.get('device_id') || c.device_id === q.get('device_id')),

    // End a simulated workspace outage (the fake has no route for it).
    'POST end_outage': (b) => {
      check(b.workspace_id, 'string', 'workspace_id');
      if (!db.workspaces.some((w) => w.workspace_id === b.workspace_id)) throw new HttpError(404, 'workspace_not_found', `no workspace ${b.workspace_id}`);
      db.simulateWorkspaceOutageRecovery(b.workspace_id);
      return { workspace_id: b.workspace_id, outage: false };
    },

    // From now on, set each new code to "set" with a 6-digit code `ms` after creation (0 disables).
    'POST auto_set': (b) => {
      if (!Number.isFinite(b.ms) || b.ms < 0) throw new HttpError(400, 'invalid_input', 'ms must be a number >= 0');
      state.autoSetMs = b.ms;
      return { ms: b.ms };
    },
  };
}

// Watch the store for newly added access codes: count them per device and schedule auto_set.
function watchCreates(db, state) {
  const known = new Set(db.access_codes.map((c) => c.access_code_id));
  // Turn a code "set" with a fresh 6-digit code, if it still exists and is not set yet.
  const autoSet = (id) => {
    const c = db.access_codes.find((x) => x.access_code_id === id);
    if (c && c.status !== 'set') patchCode(db, c, { status: 'set', code: sixDigits() });
  };
  db.subscribe((s) => {
    // addAccessCode appends, so new codes are the unknown ones at the end of the array
    for (let i = s.access_codes.length - 1; i >= 0 && !known.has(s.access_codes[i].access_code_id); i--) {
      const c = s.access_codes[i];
      known.add(c.access_code_id);
      if (c.is_backup) continue;
      const cut = state.cutNames[c.device_id];
      if (cut && typeof c.name === 'string' && [...c.name].length > cut) patchCode(db, c, { name: [...c.name].slice(0, cut).join('') });
      state.creates[c.device_id] = (state.creates[c.device_id] ?? 0) + 1;
      if (state.autoSetMs > 0) setTimeout(autoSet, state.autoSetMs, c.access_code_id);
    }
  });
}

// Read a request body (max 1 MB) and parse it as JSON ({} when empty).
async function readJson(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1 << 20) throw new HttpError(413, 'payload_too_large', 'body over 1 MB');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    const body = JSON.parse(text);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error();
    return body;
  } catch { throw new HttpError(400, 'invalid_json', 'body must be a JSON object'); }
}

// Answer one /_oracode/* request from the routes table, with JSON in and out.
async function control(routes, req, res, path, query) {
  let status = 200;
  let out;
  try {
    const route = routes[`${req.method} ${path.slice(PREFIX.length)}`];
    if (!route) throw new HttpError(404, 'unknown_route', `no control route ${req.method} ${path}`);
    out = await route(req.method === 'POST' ? await readJson(req) : {}, query);
  } catch (e) {
    status = e instanceof HttpError ? e.status : 500;
    out = { error: { type: e.type ?? 'internal_error', message: e.message }, ok: false };
    if (status === 500) console.error(e);
  }
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(out));
}

// A request or response body as JSON, else as text (at most 4 kB: enough to see what it was).
function bodyValue(buf) {
  const text = buf.toString('utf8');
  if (!text.trim()) return null;
  try { return JSON.parse(text); } catch { return { unparsed: text.slice(0, 4096) }; }
}

// Record one Seam request to file: method, path, query, user agent (the worker's is
// oracode/<version>), the body as sent and the answer as served, one JSON line appended when
// the answer is finished. The bytes are copied as they pass (req.push, res.write/end), so the
// fake reads and writes exactly what it would otherwise.
function record(file, req, res, path, query) {
  const inChunks = [];
  const outChunks = [];
  const chunk = (c, enc) => (Buffer.isBuffer(c) ? c : Buffer.from(c, typeof enc === 'string' ? enc : 'utf8'));
  // the parser pushes the body into req after the 'request' event; copy each piece
  const push = req.push;
  req.push = function (c, enc) { if (c != null) inChunks.push(chunk(c, enc)); return push.call(this, c, enc); };
  const write = res.write;
  res.write = function (c, ...rest) { if (c != null && typeof c !== 'function') outChunks.push(chunk(c, rest[0])); return write.call(this, c, ...rest); };
  const end = res.end;
  res.end = function (c, ...rest) { if (c != null && typeof c !== 'function') outChunks.push(chunk(c, rest[0])); return end.call(this, c, ...rest); };
  res.once('finish', () => {
    const line = {
      at: new Date().toISOString(), method: req.method, path, query: query || undefined,
      user_agent: req.headers['user-agent'] ?? null,
      request: bodyValue(Buffer.concat(inChunks)),
      status: res.statusCode, response: bodyValue(Buffer.concat(outChunks)),
    };
    try { fs.appendFileSync(file, `${JSON.stringify(line)}\n`); } catch (e) { console.error(`fake-seam: cannot record to ${file}: ${e.message}`); }
  });
}

// A request made with a personal access token, as Seam takes it: without a seam-workspace header
// a 400 missing_workspace_id; with one, the request goes on as that workspace's API key would make
// it. Returns false when it answered the request itself.
function personalAccessToken(db, state, req, res) {
  const token = /^Bearer (seam_at\S*)$/.exec(req.headers.authorization ?? '')?.[1];
  if (token === undefined) return true;
  // answered only once the whole body is in, as Seam would (and the recorder then has it whole)
  const refuse = (status, type, message) => {
    req.on('end', () => res.writeHead(status, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ error: { type, message }, ok: false })));
    req.resume();
    return false;
  };
  const workspace = req.headers['seam-workspace'];
  if (!workspace) return refuse(400, 'missing_workspace_id', 'When using access token authentication, you must provide the Seam-Workspace header');
  const key = db.api_keys.find((k) => k.workspace_id === workspace);
  if (!state.accessTokens.has(token) || !key) return refuse(401, 'unauthorized', 'Access token not found');
  req.headers.authorization = `Bearer ${key.token}`;
  state.requestsWithToken = (state.requestsWithToken ?? 0) + 1;
  return true;
}

// PUT/POST /_fake/database replaces the store without its actions: every later request gets 500.
function refuseDatabaseWrite(res) {
  const message = 'writing /_fake/database would break the fake; use the /_oracode/* routes';
  res.writeHead(405, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { type: 'method_not_allowed', message }, ok: false }));
}

// Start the fake, wrap its request handler (stats + control routes), print READY, arm the exit watchers.
async function main() {
  const opt = options();
  process.env.NODE_ENV ??= 'production'; // no "stack" (with local paths) in the fake's error bodies
  forceLoopback();
  const fake = await createFake();
  const db = fake.database;
  const state = { requests: {}, creates: {}, autoSetMs: 0, cutNames: {}, accessTokens: new Set() };

  for (let attempt = 1; ; attempt++) {
    const port = opt.port || await freePort();
    try {
      await fake.startServer({ port, baseUrl: `http://${HOST}:${port}` });
      break;
    } catch (e) {
      if (e.code !== 'EADDRINUSE' || opt.port || attempt >= 5) throw e;
    }
  }

  const server = fake.server.server;
  const [fakeHandler] = server.listeners('request');
  const routes = controlRoutes(db, state);
  server.removeAllListeners('request');
  server.on('request', (req, res) => {
    const [path, query = ''] = req.url.split(/\?(.*)/s);
    if (path.startsWith(PREFIX)) return control(routes, req, res, path, new URLSearchParams(query));
    if (opt.record) record(opt.record, req, res, path, query);
    state.requests[path] = (state.requests[path] ?? 0) + 1;
    if (path === '/_fake/database' && req.method !== 'GET') return refuseDatabaseWrite(res);
    if (!personalAccessToken(db, state, req, res)) return undefined;
    return fakeHandler(req, res);
  });
  watchCreates(db, state);

  const stop = (why) => { console.error(`fake-seam: exiting (${why})`); process.exit(0); };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (opt.maxSeconds) setTimeout(stop, Math.min(opt.maxSeconds * 1000, 2 ** 31 - 1), `max-seconds ${opt.maxSeconds} reached`);
  if (opt.parentPid) {
    setInterval(() => {
      try { process.kill(opt.parentPid, 0); } catch (e) { if (e.code === 'ESRCH') stop(`parent ${opt.parentPid} gone`); }
    }, 1000);
  }

  const { address, port } = server.address();
  process.stdout.write(`READY http://${address}:${port}\n`);
}

main().catch((e) => { console.error('fake-seam:', e); process.exit(1); });
