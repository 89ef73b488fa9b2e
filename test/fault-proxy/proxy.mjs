#!/usr/bin/env node
// A fault-injecting HTTP proxy for the oracode tests: it sits on 127.0.0.1 between the worker
// and Seam's fake server, forwards every request, and on command breaks some of them the ways
// production breaks them (late answers, answers lost after the create happened, resets, 429s,
// 5xx, truncated or malformed bodies). It only uses node's built-ins.
//
// usage: node proxy.mjs --target http://127.0.0.1:PORT [--port N] [--parent-pid PID]
//                       [--max-seconds S] [--seam-list-filter] [--log-limit N]
//   Prints exactly one line on stdout, "READY http://127.0.0.1:<port>", once listening.
//   Exits on SIGTERM/SIGINT, when the parent pid is gone (checked every second), or after
//   max-seconds (default 3600; 0 = no limit).
//   --seam-list-filter applies /access_codes/list's access_code_ids / device_id filter to the
//   fake's answers, as Seam does (the fake returns every code it holds); the soak needs it.
//
// Control routes (JSON in and out; never forwarded):
//   POST /_proxy/faults {"rules":[RULE...], "append":false}  install rules (replace, or append)
//   GET  /_proxy/faults                                      the rules, with what is left of each
//   POST /_proxy/clear                                       remove every rule
//   GET  /_proxy/stats        {requests, forwarded, faults, log_size, in_flight}
//   GET  /_proxy/log[?path=P&since=MS]  one entry per request: {seq, t, t_done, path, device_id,
//        name, auth (first 12 hex of sha256 of the bearer token), fault, status, upstream_status,
//        next_page (it asked for the page after one the first_page action answered)}
//   POST /_proxy/reset_stats                                 zero the counters and the log
//
// RULE: {"path":"/access_codes/create", "device_id":"…", "action":A, "count":N, "probability":P, …}
//   path and device_id (the request body's) narrow what it matches; the first matching rule with
//   count left fires (with probability P, default 1); count defaults to unlimited. Actions:
//   pass        forward untouched (e.g. {"action":"pass","count":2} lets two through first)
//   delay       forward at once, hold the answer "ms" milliseconds (past the client's timeout)
//   drop        forward, then close the connection without answering (the create happened)
//   reset       send a TCP reset instead of an answer; "forward":true forwards first
//   status      answer "status" (429, 500, 503, ...) with "body" (default: a Seam-style JSON
//               error; "" for none), "retry_after" seconds as Retry-After, "content_type";
//               "forward":true forwards first (the request took effect), default false
//   truncate    forward, answer a complete HTTP message whose body is cut to "bytes" (default half)
//   short_body  forward, promise the whole body in Content-Length, send half, close
//   non_json    forward, answer "status" (default 200) with an HTML page instead of JSON
//   first_page  forward, answer with the list's first "keep" elements (default 0) and a pagination
//               object saying more pages follow; the request for the next page (its page_cursor
//               is the proxy's own) is forwarded without that cursor, so it gets the whole list
//   wrong_types forward, answer with "fields" of each access code given the wrong JSON type
//               (default: access_code_id, device_id, name, status, code, errors, warnings);
//               the field "access_codes" or "access_code" replaces the whole list or object
//   echo_headers answer "status" (default 400) with a Seam-style JSON error whose message echoes
//               every request header, Authorization included, as "name: value" lines ended by
//               CRLF (plus "Proxy-Authorization: BEARER <token>" when "token" is given: a
//               credential the client never sent), and a seam-request-id header that echoes the
//               Authorization header; "forward":true forwards first (the request took effect)
//   oversized   forward, answer "status" (default: the upstream's) with the upstream JSON grown
//               to "bytes" bytes (default 1 MiB) by a "padding" string member; "chunked":true
//               sends it in chunks without a Content-Length, so only the client's count stops it
//   dense       forward, answer the upstream JSON grown to "bytes" bytes by a "padding" member
//               that is an array of empty arrays ([[],[],...]): small on the wire, costly to parse
//   merge       forward, answer the upstream JSON with "merge" merged into it, objects member by
//               member (e.g. {"access_code":{"access_code_id":"…"}} or {"action_attempt":{…}})
import http from 'node:http';
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';

const HOST = '127.0.0.1';
const PREFIX = '/_proxy/';
const MAX_BODY = 16 << 20;
const ACTIONS = new Set(['pass', 'delay', 'drop', 'reset', 'status', 'truncate', 'short_body', 'non_json', 'wrong_types',
  'echo_headers', 'oversized', 'dense', 'first_page', 'merge']);
// the cursor first_page hands out: a request carrying it is forwarded without it
const PROXY_CURSOR = 'fault-proxy-next-page';
// what each field becomes under wrong_types: valid JSON, wrong type
const WRONG = {
  access_code_id: 12345, device_id: false, name: { first: 'Guest' }, status: ['set'], code: 123456,
  errors: 'none', warnings: 7, starts_at: 1733097600, ends_at: true,
};
const DEFAULT_WRONG_FIELDS = ['access_code_id', 'device_id', 'name', 'status', 'code', 'errors', 'warnings'];

// Read --target/--port/--parent-pid/--max-seconds/--seam-list-filter/--log-limit.
function options() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' }, port: { type: 'string' }, 'parent-pid': { type: 'string' },
      'max-seconds': { type: 'string' }, 'seam-list-filter': { type: 'boolean' }, 'log-limit': { type: 'string' },
    },
  });
  const num = (v, dflt) => {
    const n = Number(v ?? dflt);
    if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
    return n;
  };
  if (!values.target) throw new Error('--target http://127.0.0.1:PORT is required');
  const target = new URL(values.target);
  if (target.protocol !== 'http:') throw new Error('--target must be an http:// URL');
  return {
    target, port: num(values.port, 0), parentPid: num(values['parent-pid'], 0),
    maxSeconds: num(values['max-seconds'], 3600), listFilter: values['seam-list-filter'] ?? false,
    logLimit: num(values['log-limit'], 200000),
  };
}

// An error that the control router turns into a JSON error response.
class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// Check one rule and fill in its defaults; throws HttpError(400) on nonsense.
function checkRule(r, i) {
  const bad = (msg) => { throw new HttpError(400, `rule ${i}: ${msg}`); };
  if (typeof r !== 'object' || r === null || Array.isArray(r)) bad('must be an object');
  if (!ACTIONS.has(r.action)) bad(`action must be one of ${[...ACTIONS].join(', ')}`);
  for (const k of ['path', 'device_id', 'body', 'content_type', 'token']) if (r[k] !== undefined && typeof r[k] !== 'string') bad(`${k} must be a string`);
  for (const k of ['count', 'ms', 'status', 'retry_after', 'bytes']) {
    if (r[k] !== undefined && !(Number.isInteger(r[k]) && r[k] >= 0)) bad(`${k} must be an integer >= 0`);
  }
  if (r.probability !== undefined && !(typeof r.probability === 'number' && r.probability >= 0 && r.probability <= 1)) bad('probability must be in [0, 1]');
  if (r.forward !== undefined && typeof r.forward !== 'boolean') bad('forward must be a boolean');
  if (r.chunked !== undefined && typeof r.chunked !== 'boolean') bad('chunked must be a boolean');
  if (r.fields !== undefined && !(Array.isArray(r.fields) && r.fields.every((f) => typeof f === 'string'))) bad('fields must be an array of strings');
  if (r.action === 'status' && r.status === undefined) bad('status needs "status"');
  if (r.action === 'delay' && r.ms === undefined) bad('delay needs "ms"');
  if (r.action === 'merge' && (typeof r.merge !== 'object' || r.merge === null)) bad('merge needs a "merge" object');
  return { ...r, left: r.count ?? null, fired: 0 };
}

// The first rule that matches this request and fires, or null (and count it down).
function pickRule(rules, path, deviceId) {
  for (const r of rules) {
    if (r.path !== undefined && r.path !== path) continue;
    if (r.device_id !== undefined && r.device_id !== deviceId) continue;
    if (r.left === 0) continue;
    if (r.probability !== undefined && Math.random() >= r.probability) return null;
    if (r.left !== null) r.left--;
    r.fired++;
    return r;
  }
  return null;
}

// Read a request body (at most MAX_BODY bytes) as a Buffer.
async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, 'body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

// JSON.parse that returns undefined instead of throwing.
function tryJson(buf) {
  try { return JSON.parse(buf.toString('utf8')); } catch { return undefined; }
}

// First 12 hex digits of the sha256 of the bearer token: tells keys apart without showing one.
function authPrint(header) {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  return m ? createHash('sha256').update(m[1]).digest('hex').slice(0, 12) : null;
}

// Give the named fields of one access code object the wrong JSON type.
function mangleCode(c, fields) {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return;
  for (const f of fields) if (f in WRONG) c[f] = WRONG[f];
}

// b merged into a: objects member by member, anything else replaced.
function deepMerge(a, b) {
  const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(a) || !isObj(b)) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = deepMerge(a[k], v);
  return out;
}

// The upstream body with wrongly typed fields (or itself, when it is not JSON).
function wrongTypes(body, fields) {
  const j = tryJson(body);
  if (typeof j !== 'object' || j === null) return body;
  if (fields.includes('access_codes') && 'access_codes' in j) j.access_codes = { count: 1 };
  else if (Array.isArray(j.access_codes)) j.access_codes.forEach((c) => mangleCode(c, fields));
  if (fields.includes('access_code') && 'access_code' in j) j.access_code = 'created';
  else if (j.access_code) mangleCode(j.access_code, fields);
  return Buffer.from(JSON.stringify(j));
}

// Seam's /access_codes/list filter, applied to the fake's unfiltered answer.
function filterList(reqJson, body) {
  const j = tryJson(body);
  if (!j || !Array.isArray(j.access_codes) || typeof reqJson !== 'object' || reqJson === null) return body;
  if (Array.isArray(reqJson.access_code_ids)) {
    const ids = new Set(reqJson.access_code_ids);
    j.access_codes = j.access_codes.filter((c) => ids.has(c.access_code_id));
  } else if (typeof reqJson.device_id === 'string') {
    j.access_codes = j.access_codes.filter((c) => c.device_id === reqJson.device_id);
  } else return body;
  return Buffer.from(JSON.stringify(j));
}

// Headers of an upstream answer worth passing on (framing headers are recomputed).
function passHeaders(h) {
  const out = {};
  for (const [k, v] of Object.entries(h)) {
    if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(k)) out[k] = v;
  }
  return out;
}

// The upstream JSON object (or an empty one) with a "padding" member that brings the whole to
// about `bytes` bytes: a string of x, or (dense) an array of empty arrays.
function padded(body, bytes, dense) {
  const j = tryJson(body);
  const obj = typeof j === 'object' && j !== null && !Array.isArray(j) ? j : {};
  const base = JSON.stringify({ ...obj, padding: null });
  const head = base.slice(0, -'null}'.length);
  const room = Math.max(2, bytes - head.length - 1);
  const pad = dense ? `[${'[],'.repeat(Math.max(0, Math.floor((room - 4) / 3)))}[]]` : `"${'x'.repeat(room - 2)}"`;
  return Buffer.from(`${head}${pad}}`);
}

// An echo of the request's headers as Seam-style JSON error text (see echo_headers above).
function echoBody(req, token) {
  const lines = Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`);
  if (token) lines.push(`Proxy-Authorization: BEARER ${token}`);
  const message = `fault-proxy: the request's headers were:\r\n${lines.join('\r\n')}\r\n`;
  return JSON.stringify({ error: { type: 'echo', message, headers: req.headers }, ok: false });
}

// A Seam-style JSON error body for a status the proxy makes up.
function errorBody(status) {
  const type = status === 429 ? 'too_many_requests' : status >= 500 ? 'internal_server_error' : 'proxy_error';
  return JSON.stringify({ error: { type, message: `fault-proxy: injected HTTP ${status}` }, ok: false });
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

// Build the proxy: forwarding, fault actions, counters, control routes.
function makeProxy(opt) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const state = { rules: [], requests: {}, forwarded: {}, faults: {}, log: [], seq: 0, inFlight: 0 };

  // Send the request on to the target; resolves to {status, headers, body}. A kept-alive
  // connection the target closed just as the request went out (ECONNRESET on a reused socket,
  // before any answer) never delivered it: send it once more on a new connection, as Node's
  // documentation advises, so that the proxy itself never adds a fault no rule asked for.
  const forward = (req, body, retried = false) => new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: opt.target.host, 'content-length': String(body.length) };
    delete headers.connection;
    delete headers['keep-alive'];
    const up = http.request({
      agent, host: opt.target.hostname, port: opt.target.port, method: req.method, path: req.url, headers,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    up.on('error', (err) => {
      if (!retried && up.reusedSocket && err.code === 'ECONNRESET') forward(req, body, true).then(resolve, reject);
      else reject(err);
    });
    up.end(body);
  });

  // Write a whole answer unless the client has gone; returns what the log should say.
  const answer = (res, status, headers, body) => {
    if (res.socket?.destroyed || res.destroyed) return 'client_gone';
    res.writeHead(status, { ...headers, 'content-length': String(body.length) });
    res.end(body);
    return status;
  };

  // Handle one request that is not a control route.
  const proxy = async (req, res, path) => {
    let body = await readBody(req);
    const json = tryJson(body);
    const deviceId = typeof json?.device_id === 'string' ? json.device_id : null;
    state.requests[path] = (state.requests[path] ?? 0) + 1;
    const rule = pickRule(state.rules, path, deviceId);
    const action = rule?.action ?? 'pass';
    if (rule) state.faults[action] = (state.faults[action] ?? 0) + 1;
    const entry = {
      seq: ++state.seq, t: Date.now(), t_done: null, path, device_id: deviceId,
      name: typeof json?.name === 'string' ? json.name : null, auth: authPrint(req.headers.authorization),
      fault: rule ? action : null, status: null, upstream_status: null,
      next_page: json?.page_cursor === PROXY_CURSOR,
    };
    if (opt.logLimit > state.log.length) state.log.push(entry);

    const doForward = async () => {
      if (json?.page_cursor === PROXY_CURSOR) {
        const { page_cursor: _cursor, ...rest } = json;
        body = Buffer.from(JSON.stringify(rest));
      }
      const up = await forward(req, body);
      state.forwarded[path] = (state.forwarded[path] ?? 0) + 1;
      entry.upstream_status = up.status;
      if (opt.listFilter && path === '/access_codes/list' && up.status === 200) up.body = filterList(json, up.body);
      return up;
    };

    let up;
    switch (action) {
      case 'pass':
        up = await doForward();
        entry.status = answer(res, up.status, passHeaders(up.headers), up.body);
        break;
      case 'delay':
        up = await doForward();
        await sleep(rule.ms);
        entry.status = answer(res, up.status, passHeaders(up.headers), up.body);
        break;
      case 'drop':
        await doForward();
        req.socket.destroy();
        entry.status = 'dropped';
        break;
      case 'reset':
        if (rule.forward) await doForward();
        req.socket.resetAndDestroy();
        entry.status = 'reset';
        break;
      case 'status': {
        if (rule.forward) await doForward();
        const text = rule.body ?? (rule.status >= 400 ? errorBody(rule.status) : '');
        const headers = { 'seam-request-id': `fault-proxy-${entry.seq}` };
        if (text) headers['content-type'] = rule.content_type ?? 'application/json';
        if (rule.retry_after !== undefined) headers['retry-after'] = String(rule.retry_after);
        entry.status = answer(res, rule.status, headers, Buffer.from(text));
        break;
      }
      case 'truncate':
        up = await doForward();
        entry.status = answer(res, up.status, passHeaders(up.headers),
          up.body.subarray(0, Math.min(rule.bytes ?? Math.floor(up.body.length / 2), up.body.length)));
        break;
      case 'short_body':
        up = await doForward();
        if (!res.socket?.destroyed) {
          res.writeHead(up.status, { ...passHeaders(up.headers), 'content-length': String(up.body.length) });
          res.write(up.body.subarray(0, Math.floor(up.body.length / 2)));
          // let the half body leave before the connection goes
          await sleep(50);
          req.socket.destroy();
        }
        entry.status = 'short_body';
        break;
      case 'non_json':
        await doForward();
        entry.status = answer(res, rule.status ?? 200, { 'content-type': 'text/html' },
          Buffer.from(rule.body ?? '<html><body><h1>502 Bad Gateway</h1></body></html>'));
        break;
      case 'first_page': {
        up = await doForward();
        const page = tryJson(up.body);
        const key = Object.keys(page ?? {}).find((k) => Array.isArray(page[k]));
        if (up.status !== 200 || key === undefined) { entry.status = answer(res, up.status, passHeaders(up.headers), up.body); break; }
        page[key] = page[key].slice(0, rule.keep ?? 0);
        page.pagination = { has_next_page: true, next_page_cursor: PROXY_CURSOR, next_page_url: null };
        entry.status = answer(res, up.status, passHeaders(up.headers), Buffer.from(JSON.stringify(page)));
        break;
      }
      case 'merge': {
        up = await doForward();
        const body = tryJson(up.body);
        entry.status = answer(res, up.status, passHeaders(up.headers),
          body === undefined ? up.body : Buffer.from(JSON.stringify(deepMerge(body, rule.merge ?? {}))));
        break;
      }
      case 'wrong_types':
        up = await doForward();
        entry.status = answer(res, up.status, passHeaders(up.headers), wrongTypes(up.body, rule.fields ?? DEFAULT_WRONG_FIELDS));
        break;
      case 'echo_headers': {
        if (rule.forward) await doForward();
        const headers = { 'content-type': 'application/json', 'seam-request-id': `echo ${req.headers.authorization ?? ''}` };
        entry.status = answer(res, rule.status ?? 400, headers, Buffer.from(echoBody(req, rule.token)));
        break;
      }
      case 'oversized':
      case 'dense': {
        up = await doForward();
        const big = padded(up.body, rule.bytes ?? (1 << 20), action === 'dense');
        const status = rule.status ?? up.status;
        const headers = { ...passHeaders(up.headers), 'content-type': 'application/json' };
        // the client hangs up once it has had enough: that is the point, not a proxy failure
        res.on('error', () => {});
        if (action === 'oversized' && rule.chunked) {
          if (res.socket?.destroyed || res.destroyed) { entry.status = 'client_gone'; break; }
          res.writeHead(status, headers);
          for (let i = 0; i < big.length && !res.destroyed; i += 1 << 16) res.write(big.subarray(i, i + (1 << 16)));
          res.end();
          entry.status = status;
        } else entry.status = answer(res, status, headers, big);
        break;
      }
      default:
        throw new Error(`unhandled action ${action}`);
    }
    entry.t_done = Date.now();
  };

  // The control routes, keyed by "METHOD name".
  const routes = {
    'POST faults': (b) => {
      if (!Array.isArray(b.rules)) throw new HttpError(400, 'rules must be an array');
      const rules = b.rules.map(checkRule);
      state.rules = b.append ? state.rules.concat(rules) : rules;
      return { rules: state.rules };
    },
    'GET faults': () => ({ rules: state.rules }),
    'POST clear': () => { state.rules = []; return { rules: [] }; },
    'GET stats': () => ({
      requests: state.requests, forwarded: state.forwarded, faults: state.faults,
      log_size: state.log.length, in_flight: state.inFlight,
    }),
    'GET log': (_b, q) => state.log.filter((e) => (!q.get('path') || e.path === q.get('path'))
      && (!q.get('since') || e.t >= Number(q.get('since')))),
    'POST reset_stats': () => {
      Object.assign(state, { requests: {}, forwarded: {}, faults: {}, log: [] });
      return { reset: true };
    },
  };

  // Answer one /_proxy/* request.
  const control = async (req, res, path, query) => {
    let status = 200;
    let out;
    try {
      const route = routes[`${req.method} ${path.slice(PREFIX.length)}`];
      if (!route) throw new HttpError(404, `no control route ${req.method} ${path}`);
      let b = {};
      if (req.method === 'POST') {
        const raw = await readBody(req);
        b = raw.length ? tryJson(raw) : {};
        if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new HttpError(400, 'body must be a JSON object');
      }
      out = await route(b, query);
    } catch (e) {
      status = e instanceof HttpError ? e.status : 500;
      out = { error: { type: 'fault_proxy', message: e.message }, ok: false };
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out));
  };

  // The server's request handler.
  return async (req, res) => {
    const [path, query = ''] = req.url.split(/\?(.*)/s);
    if (path.startsWith(PREFIX)) return control(req, res, path, new URLSearchParams(query));
    state.inFlight++;
    try {
      await proxy(req, res, path);
    } catch (e) {
      // the target is down or the body was refused: answer as a gateway would
      console.error(`fault-proxy: ${req.method} ${path}: ${e.message}`);
      if (!res.headersSent && !res.socket?.destroyed) {
        res.writeHead(e instanceof HttpError ? e.status : 502, { 'content-type': 'text/plain' }).end('fault-proxy: bad gateway');
      }
    } finally {
      state.inFlight--;
    }
  };
}

// Start listening on 127.0.0.1, print READY, arm the exit watchers.
async function main() {
  const opt = options();
  const server = http.createServer(makeProxy(opt));
  server.keepAliveTimeout = 5000;
  // a client that vanishes mid-request must not take the proxy down
  server.on('clientError', (_e, socket) => socket.destroy());
  server.on('connection', (socket) => socket.on('error', () => {}));
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(opt.port, HOST, resolve); });

  const stop = (why) => { console.error(`fault-proxy: exiting (${why})`); process.exit(0); };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (opt.maxSeconds) setTimeout(stop, Math.min(opt.maxSeconds * 1000, 2 ** 31 - 1), `max-seconds ${opt.maxSeconds} reached`).unref();
  if (opt.parentPid) {
    setInterval(() => {
      try { process.kill(opt.parentPid, 0); } catch (e) { if (e.code === 'ESRCH') stop(`parent ${opt.parentPid} gone`); }
    }, 1000).unref();
  }
  const { address, port } = server.address();
  process.stdout.write(`READY http://${address}:${port}\n`);
}

main().catch((e) => { console.error('fault-proxy:', e.message); process.exit(1); });
