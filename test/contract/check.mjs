#!/usr/bin/env node
// The contract test: what oracode sends to Seam and reads from Seam's answers, held against
// Seam's own OpenAPI document (npm @seamapi/types, pinned in test/fake-seam/package.json),
// which nobody here wrote.
//
// usage: node test/contract/check.mjs [--require 'POST /a,POST /b'] [--src DIR] [--label L] RECORDING.jsonl...
//   RECORDING: the JSON lines that test/fake-seam/server.mjs --record (FAKE_SEAM_RECORD) wrote.
//   --require: endpoints the recording must hold at least one worker request for.
//   --src: the C sources to compare with test/contract/fields.mjs (default: the tree's src/).
//   --fields: another list than test/contract/fields.mjs (for the self-test).
//   --label: a word for the summary lines (which suite the recording is from).
//
// It fails on any violation of 1 and 2, and shows 3:
//  1. Static, without the recording: every body key the C can send (fields.mjs `sends`) is a
//     property of its endpoint's request schema; every field the C reads (fields.mjs `reads`) is
//     declared in the endpoint's 200 answer schema ($ref, allOf/oneOf/anyOf followed) with types
//     the C reads, required and non-null where the C cannot do without it, and with no enum value
//     the C does not know where it tells values apart; and the keys that src/seam_json.c and
//     src/time_slot.c read or send are all listed in fields.mjs. The fields
//     oracode_ingest_webhook reads from Seam's events likewise, per event type.
//  2. Each request the worker sent (User-Agent oracode/<version>; the tests' own curl calls are
//     left out) is to an endpoint of Seam's API, and its body validates against that
//     endpoint's requestBody schema with every object closed (additionalProperties false where
//     the schema says nothing): an unknown field fails, as does a missing required one, a wrong
//     type or a value outside an enum. Not counted: a format error on a value the fake issued
//     (the worker sends back the fake's ids, which are not UUIDs as Seam's are).
//  3. In each recorded 200 answer to the worker, every listed field is checked against its
//     schema and the C's types, and a field the C needs for being there; in error answers (which
//     the OpenAPI leaves without a schema), error.type and error.message. What departs is shown,
//     not failed: the answers are the fake's, seeded on purpose with malformed devices.
// Prints a summary per endpoint and a last line "contract: PASS — ..." or "contract: FAIL — ...".
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
// the packages live with the fake (test/fake-seam/node_modules), installed by scripts/fake.sh
const require = createRequire(path.join(top, 'test/fake-seam/package.json'));
const { openapi } = require('@seamapi/types/connect');
const typesVersion = JSON.parse(fs.readFileSync(path.join(top, 'test/fake-seam/node_modules/@seamapi/types/package.json'), 'utf8')).version;
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const { values: opt, positionals: files } = parseArgs({
  allowPositionals: true,
  options: { require: { type: 'string' }, src: { type: 'string' }, label: { type: 'string' }, fields: { type: 'string' } },
});
const { endpoints, errorReads, webhooks = {} } = await import(opt.fields ? path.resolve(opt.fields) : './fields.mjs');

const violations = [];
const notes = [];
const violation = (msg) => violations.push(msg);

// ---------------------------------------------------------------------------------------------
// The OpenAPI document, its $refs made absolute ("seam#/components/...") so that any part of it
// compiles on its own against the components registered once under $id "seam".
// OpenAPI 3.0's boolean exclusiveMinimum/exclusiveMaximum (draft 4) become draft-7 numbers.
const doc = JSON.parse(JSON.stringify(openapi).replaceAll('"$ref":"#/', '"$ref":"seam#/'), function (k, v) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [ex, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']]) {
      if (typeof v[ex] !== 'boolean') continue;
      if (v[ex] && typeof v[bound] === 'number') { v[ex] = v[bound]; delete v[bound]; } else delete v[ex];
    }
  }
  return v;
});
// validateSchema off: the document has enums with duplicate items, harmless to validation
const ajv = new Ajv({ allErrors: true, strict: false, logger: false, validateSchema: false, verbose: true });
addFormats(ajv);
for (const f of ['float', 'double', 'int32', 'int64', 'byte', 'binary', 'password']) ajv.addFormat(f, true);
ajv.addSchema({ $id: 'seam', components: doc.components });

// The schema a $ref names (one level), else the schema itself.
function deref(s) {
  for (let i = 0; s && s.$ref && i < 20; i++) {
    const ptr = s.$ref.replace(/^seam#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    s = ptr.reduce((o, k) => (o == null ? undefined : o[k]), doc);
  }
  return s;
}

// s and every schema it combines (allOf/oneOf/anyOf, followed through $refs), flattened.
function expand(s, seen = new Set()) {
  s = deref(s);
  if (!s || typeof s !== 'object' || seen.has(s)) return [];
  seen.add(s);
  const out = [s];
  for (const kw of ['allOf', 'oneOf', 'anyOf']) for (const b of s[kw] ?? []) out.push(...expand(b, seen));
  return out;
}

// "a.b[].c" as segments ["a", "b", "[]", "c"].
const segments = (p) => p.split('.').flatMap((part) => {
  const m = part.match(/^(.*?)((?:\[\])*)$/);
  return [m[1], ...Array(m[2].length / 2).fill('[]')].filter(Boolean);
});

// The schemas a path reaches from root (several when alternatives declare it), and whether the
// last member is required in some object that declares it.
function reach(root, p) {
  let nodes = [root];
  let required = false;
  for (const seg of segments(p)) {
    const next = [];
    required = false;
    for (const n of nodes) {
      for (const e of expand(n)) {
        if (seg === '[]') { if (e.items) next.push(e.items); continue; }
        if (e.properties && Object.hasOwn(e.properties, seg)) {
          next.push(e.properties[seg]);
          if (e.required?.includes(seg)) required = true;
        }
      }
      // a sibling branch (allOf) may require a member another branch declares
      for (const e of expand(n)) if (seg !== '[]' && e.required?.includes(seg) && next.length) required = true;
    }
    nodes = next;
    if (!nodes.length) return { nodes, required: false };
    if (seg === '[]') required = true;   // an element is there when it is there
  }
  return { nodes, required };
}

// The JSON types a schema allows (from type, enum, nullable, and its alternatives); null if untyped.
function typesOf(nodes) {
  const types = new Set();
  let untyped = false;
  for (const n of nodes) {
    const all = expand(n);
    let any = false;
    for (const e of all) {
      if (e.nullable) types.add('null');
      if (e.type) { [].concat(e.type).forEach((t) => types.add(t)); any = true; }
      else if (e.enum) { e.enum.forEach((v) => types.add(v === null ? 'null' : Number.isInteger(v) ? 'integer' : typeof v)); any = true; }
    }
    if (!any) untyped = true;
  }
  return untyped ? null : types;
}

// Whether a value has one of the JSON types in accepted ('integer' is a whole 'number').
function jsonType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}
const accepts = (accepted, t) => accepted.includes(t) || (t === 'integer' && accepted.includes('number'));

// The 200 answer schema and the JSON requestBody schema of an endpoint ("POST /x/y").
function operation(endpoint) {
  const [method, p] = endpoint.split(' ');
  return doc.paths[p]?.[method.toLowerCase()];
}
const responseSchema = (op) => op?.responses?.['200']?.content?.['application/json']?.schema;
const requestSchema = (op) => op?.requestBody?.content?.['application/json']?.schema;

// A copy of a request schema with every object closed: a schema that declares properties and
// says nothing of others gets additionalProperties false (not the members of an allOf, which
// would then refuse each other's properties). Seam's document comes from zod objects, which
// strip unknown keys silently, so it never says "additionalProperties": an unknown key the
// worker sends would be dropped without a word, and the worker would believe it had asked for
// something it had not (a misspelt max_time_rounding makes hourly-rounded codes). So here an
// unknown key is a violation.
function closed(s, inAllOf = false, seen = new Map()) {
  s = deref(s);
  if (!s || typeof s !== 'object') return s;
  if (seen.has(s)) return seen.get(s);
  const out = Array.isArray(s) ? [] : {};
  seen.set(s, out);
  for (const [k, v] of Object.entries(s)) {
    if (k === 'allOf') out[k] = v.map((b) => closed(b, true, seen));
    else if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, closed(pv, false, seen)]));
    else if (['items', 'additionalProperties', 'not'].includes(k) && typeof v === 'object') out[k] = closed(v, false, seen);
    else if (['oneOf', 'anyOf'].includes(k)) out[k] = v.map((b) => closed(b, false, seen));
    else out[k] = v;
  }
  if (!Array.isArray(s) && s.properties && s.additionalProperties === undefined && !inAllOf) out.additionalProperties = false;
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1. Static checks.
const reads = {};   // endpoint -> [{ field, accepted, types, validate, values }]
let staticFields = 0;
for (const [endpoint, spec] of Object.entries(endpoints)) {
  const op = operation(endpoint);
  if (!op) { violation(`${endpoint}: not an endpoint of Seam's API (@seamapi/types ${typesVersion})`); continue; }
  const req = requestSchema(op);
  for (const key of spec.sends) {
    staticFields++;
    const { nodes } = reach(req ?? {}, key);
    if (!nodes.length) violation(`${endpoint}: the worker can send "${key}", which the request schema does not declare`);
  }
  const res = responseSchema(op);
  reads[endpoint] = [];
  for (const f of spec.reads) {
    staticFields++;
    const accepted = [].concat(f.type);
    const { nodes, required } = reach(res ?? {}, f.path);
    if (!nodes.length) { violation(`${endpoint}: the code reads ${f.path} (${f.by}), which the 200 answer schema does not declare`); continue; }
    const types = typesOf(nodes);
    if (types === null) notes.push(`${endpoint}: ${f.path} has no type in the schema`);
    else {
      for (const t of types) {
        if (t === 'null') continue;   // the C reads null as absent; where it needs the field, see below
        if (t === 'number' && accepted.includes('integer') && !accepted.includes('number'))
          notes.push(`${endpoint}: ${f.path} is a number in the schema; the code reads whole numbers only (others as absent)`);
        else if (!accepts(accepted, t))
          violation(`${endpoint}: ${f.path} may be ${t} by the schema; the code (${f.by}) reads only ${accepted.join('|')}`);
      }
    }
    if (f.values) {
      const allowed = nodes.flatMap((n) => expand(n).flatMap((e) => e.enum ?? []));
      if (!allowed.length) violation(`${endpoint}: ${f.path} has no enum in the schema; the code tells apart only ${f.values.join(', ')}`);
      for (const v of new Set(allowed)) if (!f.values.includes(v)) violation(`${endpoint}: Seam's schema allows ${f.path} "${v}", which the code (${f.by}) does not know`);
    }
    if (f.need && !required) violation(`${endpoint}: the code cannot do without ${f.path} (${f.by}), but the schema does not require it`);
    if (f.need && types?.has('null')) violation(`${endpoint}: the code cannot do without ${f.path} (${f.by}), but the schema lets it be null`);
    if (nodes.some((n) => expand(n).some((e) => e.deprecated))) notes.push(`${endpoint}: ${f.path} (${f.by}) is deprecated in the schema`);
    // an object or array the code only opens is checked for its type; its members that the code
    // reads are listed on their own (Seam's other members are not the code's business)
    const container = accepted.every((t) => ['object', 'array', 'null'].includes(t));
    reads[endpoint].push({
      field: f, accepted, types, values: 0,
      validate: container ? null : ajv.compile(nodes.length === 1 ? nodes[0] : { anyOf: nodes }),
    });
  }
}

// The webhook events: each listed field in the variant of Seam's event schema for its type.
const knownMismatches = [];
let webhookFields = 0;
const eventVariants = expand(doc.components.schemas.event);
for (const [type, fields] of Object.entries(webhooks)) {
  const variants = eventVariants.filter((e) => deref(e.properties?.event_type)?.enum?.includes(type));
  if (!variants.length) { violation(`webhook ${type}: not an event type of Seam's API`); continue; }
  for (const f of fields) {
    webhookFields++;
    const accepted = [].concat(f.type);
    const { nodes } = reach({ anyOf: variants }, f.path);
    const types = nodes.length ? typesOf(nodes) : null;
    let problem = null;
    if (!nodes.length) problem = `the code reads ${f.path} (${f.by}), which Seam's ${type} event does not declare`;
    else if (types && [...types].some((t) => t !== 'null' && !accepts(accepted, t)))
      problem = `${f.path} is ${[...types].join('|')} in Seam's ${type} event; the code (${f.by}) reads ${accepted.join('|')}`;
    if (problem && f.known) knownMismatches.push(`webhook ${type}: ${problem} — ${f.known}`);
    else if (problem) violation(`webhook ${type}: ${problem}`);
    else if (f.known) violation(`webhook ${type}: ${f.path} is marked as a known mismatch, but Seam's schema now backs it: drop the mark`);
  }
}

// The keys the C reads and sends, against fields.mjs.
const src = opt.src ?? path.join(top, 'src');
const listedReads = new Set([...Object.values(endpoints).flatMap((e) => e.reads), ...errorReads]
  .flatMap((f) => segments(f.path)).filter((s) => s !== '[]'));
const listedSends = new Set(Object.values(endpoints).flatMap((e) => e.sends));
const readCall = /\b(?:get_string|get_bool|get_int|get_object|get_array_text|get_timestamp|slot_time|slot_flag|slot_string|slot_informative_string|absent_or|cJSON_GetObjectItemCaseSensitive)\(\s*[^,()]+,\s*"([A-Za-z0-9_]+)"/g;
// time_slot.c reads a slot's members through a lookup of either JSON library: (obj, lookup, "key")
const slotReadCall = /\b(?:member_string|member_int|slot_time|slot_flag)\(\s*[^,()]+,\s*[^,()]+,\s*"([A-Za-z0-9_]+)"/g;
const sendCall = /\bcJSON_Add\w*ToObject\(\s*[^,()]+,\s*"([A-Za-z0-9_]+)"/g;
let srcKeys = 0;
for (const [file, checkSends] of [['seam_json.c', true], ['time_slot.c', false]]) {
  let text;
  try { text = fs.readFileSync(path.join(src, file), 'utf8'); } catch { violation(`cannot read ${path.join(src, file)}`); continue; }
  for (const [, key] of [...text.matchAll(readCall), ...text.matchAll(slotReadCall)]) {
    srcKeys++;
    if (!listedReads.has(key)) violation(`src/${file} reads "${key}", which test/contract/fields.mjs does not list (add it with its type)`);
  }
  if (checkSends) for (const [, key] of text.matchAll(sendCall)) {
    srcKeys++;
    if (!listedSends.has(key)) violation(`src/${file} sends "${key}", which test/contract/fields.mjs does not list under its endpoint's sends`);
  }
}

// ---------------------------------------------------------------------------------------------
// 2 and 3. The recording.
const isWorker = (r) => /^oracode\//.test(r.user_agent ?? '');
const bodyCheckers = new Map();
const perEndpoint = new Map();   // endpoint -> { bodies, answers }
const issued = new Set();   // every string in a recorded answer: ids the fake gave out
let echoed = 0, based = 0;
const errorStats = { answers: 0, values: 0, nonJson: 0 };
let lines = 0, worker = 0, others = 0;
const stat = (e) => perEndpoint.get(e) ?? perEndpoint.set(e, { bodies: 0, answers: 0 }).get(e);
const MAX_SAME = 5;   // report one kind of violation this often, then count it
const seenKinds = new Map();
const once = (kind, msg) => {
  const n = (seenKinds.get(kind) ?? 0) + 1;
  seenKinds.set(kind, n);
  if (n <= MAX_SAME) violation(msg); else violations.push(null);
};

// All values at a path in a JSON value; `parents` counts the objects that could hold the last member.
function valuesAt(v, segs) {
  let cur = [v];
  let parents = 0;
  segs.forEach((seg, i) => {
    const next = [];
    for (const x of cur) {
      if (seg === '[]') { if (Array.isArray(x)) next.push(...x); continue; }
      if (x && typeof x === 'object' && !Array.isArray(x)) {
        if (i === segs.length - 1) parents++;
        if (Object.hasOwn(x, seg)) next.push(x[seg]);
      }
    }
    cur = next;
  });
  return { values: cur, parents };
}

// Check each listed field in one answer. What departs from Seam's schema or from what the code
// reads is collected, not failed: the answers are the fake's, and the suites seed it on purpose
// with malformed devices (a slot without a name, "is_master": "no") to see the worker refuse
// them; and the fake's ids are not UUIDs. The code's side of the contract is the static check.
const departures = new Map();   // endpoint + field + kind -> { n, example }
const depart = (key, msg) => {
  const d = departures.get(key) ?? departures.set(key, { n: 0, example: msg }).get(key);
  d.n++;
};
function checkReads(endpoint, list, answer, where) {
  for (const r of list) {
    const { values, parents } = valuesAt(answer, segments(r.field.path));
    if (r.field.need && values.length < parents)
      depart(`${endpoint} ${r.field.path} need`, `${endpoint} ${where}: no ${r.field.path}, which the code needs (${r.field.by})`);
    for (const v of values) {
      r.values++;
      const t = jsonType(v);
      if (r.validate && !r.validate(v))
        depart(`${endpoint} ${r.field.path} schema`, `${endpoint} ${where}: ${r.field.path} = ${JSON.stringify(v).slice(0, 80)}: ${ajv.errorsText(r.validate.errors)}`);
      else if (!r.validate && r.types && !r.types.has(t) && !(t === 'integer' && r.types.has('number')))
        depart(`${endpoint} ${r.field.path} schema`, `${endpoint} ${where}: ${r.field.path} is ${t}; Seam's schema says ${[...r.types].join('|')}`);
      if (!accepts(r.accepted, t) && !(t === 'null' && !r.field.need))
        depart(`${endpoint} ${r.field.path} type`, `${endpoint} ${where}: ${r.field.path} is ${t}; the code reads ${r.accepted.join('|')}`);
    }
  }
}
const errorList = errorReads.map((f) => ({ field: f, accepted: [].concat(f.type), validate: null, values: 0 }));

// Every string value in v, into set.
const strings = (v, set) => {
  if (typeof v === 'string') set.add(v);
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => strings(x, set));
};
if (!files.length) violation('no recording given');
const texts = [];
for (const file of files) {
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { violation(`cannot read the recording ${file}: ${e.message}`); continue; }
  // the fake may still be appending (test/run's worker keeps polling): a last line without its
  // newline is being written, not broken
  texts.push([file, text.slice(0, text.lastIndexOf('\n') + 1)]);
}
for (const [, text] of texts) for (const line of text.split('\n')) { try { strings(JSON.parse(line).response, issued); } catch { /* reported below */ } }
for (const [file, text] of texts) {
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    lines++;
    const where = `${path.basename(file)}:${i + 1}`;
    let r;
    try { r = JSON.parse(line); } catch { violation(`${where}: not a JSON line`); return; }
    if (!isWorker(r)) { others++; return; }
    worker++;
    // a worker whose api_url has a path (a test points it at FAKE_URL/nowhere) asks for
    // /nowhere/devices/list: the endpoint is the longest tail that Seam's API has
    let p = r.path;
    while (!doc.paths[p] && p.indexOf('/', 1) > 0) p = p.slice(p.indexOf('/', 1));
    if (p !== r.path && doc.paths[p]) based++; else p = r.path;
    const endpoint = `${r.method} ${p}`;
    const op = operation(endpoint);
    if (!op) { once(`endpoint ${endpoint}`, `${where}: the worker called ${endpoint}, which is not an endpoint of Seam's API`); return; }
    const s = stat(endpoint);
    // the request body
    const schema = requestSchema(op);
    if (r.request && Object.hasOwn(r.request, 'unparsed')) once(`json ${endpoint}`, `${where}: the worker's ${endpoint} body is not JSON`);
    else if (!schema) { if (r.request != null) once(`nobody ${endpoint}`, `${where}: the worker sent a body to ${endpoint}, which takes none`); }
    else {
      if (!bodyCheckers.has(endpoint)) bodyCheckers.set(endpoint, ajv.compile(closed(schema)));
      const validate = bodyCheckers.get(endpoint);
      s.bodies++;
      // a format error on a value the fake itself issued (its access code ids are not UUIDs, as
      // Seam's are) is the worker echoing the fake: counted, not failed
      const errors = validate(r.request ?? {}) ? [] : validate.errors.filter((e) => {
        const fake = e.keyword === 'format' && typeof e.data === 'string' && issued.has(e.data);
        if (fake) echoed++;
        return !fake;
      });
      if (errors.length) {
        const why = errors.map((e) => (e.keyword === 'additionalProperties'
          ? `unknown field ${e.instancePath || '/'}${e.instancePath ? '/' : ''}${e.params.additionalProperty}`
          : e.keyword === 'required' ? `missing required field ${e.instancePath}/${e.params.missingProperty}`
            : `${e.instancePath || '/'} ${e.message}`)).join('; ');
        once(`body ${endpoint} ${why}`, `${where}: the worker's ${endpoint} body ${JSON.stringify(r.request).slice(0, 200)} breaks Seam's request schema: ${why}`);
      }
    }
    // the answer
    const answer = r.response;
    if (r.status === 200 && reads[endpoint]) {
      if (answer && typeof answer === 'object' && !Object.hasOwn(answer, 'unparsed')) { s.answers++; checkReads(endpoint, reads[endpoint], answer, where); }
    } else if (r.status === 200) {
      notes.push(`${endpoint}: the worker reads answers test/contract/fields.mjs lists nothing for`);
    } else if (r.status >= 400) {
      if (answer && typeof answer === 'object' && !Object.hasOwn(answer, 'unparsed')) { errorStats.answers++; checkReads(`${r.status} answers`, errorList, answer, where); }
      else errorStats.nonJson++;
    }
  });
}
if (files.length && worker === 0) violation('the recording holds no request from the worker: nothing was checked');
for (const e of (opt.require ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
  if (!perEndpoint.has(e)) violation(`the recording holds no worker request to ${e}`);
}

// ---------------------------------------------------------------------------------------------
// Summary.
const label = opt.label ? ` (${opt.label})` : '';
console.log(`contract${label}: Seam's OpenAPI document from @seamapi/types ${typesVersion}`);
console.log(`  static: ${staticFields} fields sent or read by the code checked against the endpoints' schemas, ${webhookFields} webhook event fields against the event schema; ${srcKeys} keys in the C sources checked against test/contract/fields.mjs`);
console.log(`  recording: ${lines} requests, ${worker} from the worker, ${others} from the tests (not checked)`);
for (const [endpoint, s] of [...perEndpoint].sort()) {
  const list = reads[endpoint] ?? [];
  const values = list.reduce((a, r) => a + r.values, 0);
  console.log(`  ${endpoint}: ${s.bodies} bodies validated; ${s.answers} answers, ${list.length} fields read, ${values} values checked`);
}
const errValues = errorList.reduce((a, r) => a + r.values, 0);
console.log(`  error answers: ${errorStats.answers} (${errValues} values checked; Seam's document has no schema for them), ${errorStats.nonJson} empty or not JSON`);
if (based) console.log(`  ${based} worker requests under a base path (an api_url with a path), checked as the endpoint they end with`);
if (echoed) console.log(`  ${echoed} values in request bodies that break a format only because the fake issued them so (its ids are not UUIDs): not counted`);
for (const n of [...new Set(notes)]) console.log(`  note: ${n}`);
for (const k of knownMismatches) console.log(`  known mismatch (shown, not failed): ${k}`);
if (departures.size) console.log(`  recorded answers that depart from Seam's schema or the code's types (the fake's and the tests' doing; shown, not failed):`);
for (const d of departures.values()) console.log(`    ${d.n} x ${d.example}`);
const real = violations.filter(Boolean);
for (const v of real) console.log(`  VIOLATION: ${v}`);
if (violations.length > real.length) console.log(`  (${violations.length - real.length} more violations of the kinds above)`);
const bodies = [...perEndpoint.values()].reduce((a, s) => a + s.bodies, 0);
const fieldsRead = Object.values(reads).reduce((a, l) => a + l.length, 0);
const what = `${bodies} request bodies on ${perEndpoint.size} endpoints, ${fieldsRead} response fields`;
if (violations.length) {
  console.log(`contract: FAIL — ${violations.length} violations (${what})`);
  process.exit(1);
}
console.log(`contract: PASS — ${what}`);
