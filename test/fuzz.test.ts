import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ADMIN_KEY, startTestApp, type TestApp } from './helpers/app.ts';
import { hostileValue, idArbitrary, valueFor, type Schema } from './fuzz/openapi-arbitraries.ts';

/**
 * Issue 11: a property-based fuzz of every operation in the OpenAPI document. Workspace B's key
 * (and no key, and a wrong key) sends well-formed and hostile parameters and bodies: malformed
 * JSON, wrong content types, wrong types and out-of-range values, unknown fields, huge strings,
 * deep nesting, NUL and lone surrogates, malformed and truncated multipart, ids of the wrong kind
 * and of workspace A. After every request: no 5xx, the error shape on every 4xx, /health answers,
 * and after every refused request workspace A's seeded dataset is byte-for-byte what it was.
 *
 * Seeded: every run prints its seed; CELLWISE_FUZZ_SEED=<seed> replays it. The length is a time
 * budget (CELLWISE_FUZZ_SECONDS, default 45) and a count (CELLWISE_FUZZ_RUNS); `npm run fuzz --
 * --runs N` runs longer.
 */
const seed = Number(process.env.CELLWISE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const budgetMs = Number(process.env.CELLWISE_FUZZ_SECONDS ?? 45) * 1000;
const maxRuns = Number(process.env.CELLWISE_FUZZ_RUNS ?? 1_000_000);

type Operation = { method: string; path: string; params: { name: string; in: string; schema?: Schema }[]; json?: Schema; multipart: boolean };
type FuzzRequest = { op: Operation; path: string; query: string; key: string | null; body?: { contentType?: string; data: string | Uint8Array } };

let app: TestApp;
let keyB: string;
let snapshotA: string;
let ids: string[];
let operations: Operation[];
let doc: { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, Schema> } };

const call = async (method: string, p: string, key: string, body?: unknown) => {
  const r = await fetch(`${app.baseUrl}${p}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  assert.ok(r.status < 300, `${method} ${p}: ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
};

/** Everything a reader of workspace A's dataset sees, as text. */
async function readA(datasetId: string, datasourceId: string, webhookId: string): Promise<string> {
  const parts = await Promise.all(
    [`/api/v2/datasets/${datasetId}`, `/api/v2/datasets/${datasetId}/data?limit=1000&includeMetadata=true`, `/api/v2/datasources/${datasourceId}`, `/api/v2/datasources/${datasourceId}/data`, `/api/v2/webhooks/${webhookId}`, '/api/v2/datasets', '/api/v2/keys'].map(async (p) => {
      const r = await fetch(`${app.baseUrl}${p}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      return `${p} ${r.status}\n${await r.text()}`;
    }),
  );
  return parts.join('\n');
}

async function seedWorkspace(key: string, label: string) {
  const ds = await call('POST', '/api/v2/datasets', key, { name: `${label} companies`, type: 'analysis', rows: [{ Name: 'Acme', Domain: 'acme.com' }, { Name: 'Globex', Domain: null }], columns: [{ name: 'Summary', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } }] });
  const form = new FormData();
  form.append('file', new Blob(['a,b\n1,2\n']), `${label}.csv`);
  const src = (await (await fetch(`${app.baseUrl}/api/v2/datasources/upload`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form })).json()) as any;
  const hook = await call('POST', '/api/v2/webhooks', key, { name: `${label} hook`, url: 'http://127.0.0.1:9/hook', events: ['dataset.task.completed'], secret: 's'.repeat(16) });
  const data = await call('GET', `/api/v2/datasets/${ds.datasetId}/data`, key);
  const keys = await call('GET', '/api/v2/keys', key);
  return {
    datasetId: ds.datasetId as string,
    datasourceId: src.datasourceId as string,
    webhookId: hook.webhookId as string,
    ids: [ds.datasetId, src.datasourceId, hook.webhookId, ...ds.columns.map((c: any) => c.columnId), ...data.rowIds, ...data.data.flat().map((c: any) => c.cellId)] as string[],
    keyIds: keys.keys.map((k: any) => k.keyId) as string[],
  };
}

before(async () => {
  // No engine (tasks queue, nothing runs) and every outside system on a closed loopback port:
  // the fuzz never sends traffic beyond this machine.
  const closed = 'http://127.0.0.1:9';
  app = await startTestApp({ workers: 'none', fetchAllowPrivate: true, openaiBaseUrl: `${closed}/v1`, anthropicBaseUrl: closed, ollamaBaseUrl: closed, overpassUrl: closed, maxUploadMb: 2 });
  const a = await seedWorkspace(ADMIN_KEY, 'A');
  keyB = (await call('POST', '/api/v2/workspaces', ADMIN_KEY, { name: 'B' })).key;
  const b = await seedWorkspace(keyB, 'B');
  // B's own key ids stay out of the pool: B revoking the key the fuzz speaks with (after making
  // another admin key) would turn the rest of the run into 401s. A's key ids are cross-tenant probes.
  ids = [...a.ids, ...a.keyIds, ...b.ids];
  snapshotA = await readA(a.datasetId, a.datasourceId, a.webhookId);
  (globalThis as any).__readA = () => readA(a.datasetId, a.datasourceId, a.webhookId);
  doc = (await (await fetch(`${app.baseUrl}/api/v2/openapi.json`)).json()) as typeof doc;
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, params: op.parameters ?? [], json: op.requestBody?.content?.['application/json']?.schema, multipart: Boolean(op.requestBody?.content?.['multipart/form-data']) })),
  );
});
after(() => app.close());

const resolve = (ref: string) => doc.components.schemas[ref.replace('#/components/schemas/', '')]!;
const asParam = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '');

const TRUNCATED = '--QQ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n';
const part = (name: string, fileName: string, content: string) => `--QQ\r\nContent-Disposition: form-data; name="${name}"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n${content}\r\n`;
const multipartBody = fc.oneof(
  fc.constant({ contentType: 'multipart/form-data; boundary=QQ', data: TRUNCATED }),
  fc.tuple(fc.constantFrom('file', 'files[]', 'other'), fc.constantFrom('a.csv', 'a.json', 'a.jsonl', 'a.txt', 'a.pdf', 'a\u0000.csv', ''), fc.constantFrom('a,b\n1,2\n', '[{"a":1}]', '{"a":1}\n', '%PDF-1.4 broken', '', '\u0000\u0001\u0002', `[{"a":${'['.repeat(3000)}]`), fc.constantFrom('', 'name', 'type')).map(([field, fileName, content, extra]) => ({
    contentType: 'multipart/form-data; boundary=QQ',
    data: `${extra ? `--QQ\r\nContent-Disposition: form-data; name="${extra}"\r\n\r\nx\u0000\r\n` : ''}${part(field, fileName, content)}--QQ--\r\n`,
  })),
  fc.constantFrom({ contentType: 'multipart/form-data', data: TRUNCATED }, { contentType: 'multipart/form-data; boundary=XX', data: TRUNCATED }, { contentType: 'multipart/form-data; boundary=QQ', data: '--QQ\r\n\r\n' }, { contentType: 'application/json', data: '{}' }),
);
const jsonBody = (schema: Schema | undefined, idArb: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 6, arbitrary: valueFor(schema, resolve, idArb).map((v) => ({ contentType: 'application/json', data: JSON.stringify(v) ?? 'null' })) },
    { weight: 1, arbitrary: fc.constantFrom('{"name": "x",', '[', 'nul', '{"a":1}}', '', '\u0000', `{"rows":[{"a":${'['.repeat(100_000)}1${']'.repeat(100_000)}}]}`).map((data) => ({ contentType: 'application/json', data })) },
    { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=QQ', 'application/json; charset=utf-16').map((contentType) => ({ contentType, data: '{"name":"x","type":"analysis"}' })) },
    { weight: 1, arbitrary: hostileValue.map((v) => ({ contentType: 'application/json', data: JSON.stringify(v) ?? 'null' })) },
  );

const requestArbitrary = () => {
  const idArb = idArbitrary(ids);
  return fc.constantFrom(...operations).chain((op) => {
    const pathParams = op.params.filter((p) => p.in === 'path');
    const queryParams = op.params.filter((p) => p.in === 'query');
    return fc.record({
      op: fc.constant(op),
      path: fc.tuple(...pathParams.map(() => idArb)).map((values) => pathParams.reduce((p, param, i) => p.replace(`{${param.name}}`, encodeURIComponent(values[i]!)), op.path)),
      query: fc.tuple(fc.tuple(...queryParams.map((p) => fc.option(fc.oneof(valueFor(p.schema, resolve, idArb), hostileValue), { nil: undefined }))), fc.option(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 })), { nil: undefined })).map(([values, unknown]) => {
        const q = new URLSearchParams();
        queryParams.forEach((p, i) => values[i] !== undefined && q.set(p.name, asParam(values[i]).slice(0, 2000)));
        if (unknown) q.set(unknown[0], unknown[1]);
        return q.size ? `?${q}` : '';
      }),
      key: fc.oneof({ weight: 8, arbitrary: fc.constant<string | null>(keyB) }, { weight: 1, arbitrary: fc.constantFrom<string | null>(null, 'cw_wrong', 'x'.repeat(5000)) }),
      body: op.multipart ? multipartBody : op.json ? jsonBody(op.json, idArb) : fc.option(jsonBody(undefined, idArb), { nil: undefined, freq: 4 }),
    }) as fc.Arbitrary<FuzzRequest>;
  });
};

// In this process an uncaught exception would end a real server; here the test runner would
// swallow it, so it is recorded and fails the property.
const crashes: unknown[] = [];
process.on('uncaughtException', (err) => crashes.push(err));
process.on('unhandledRejection', (err) => crashes.push(err));

let sent = 0;
let refused = 0;
const statuses = new Map<number, number>();

async function send(req: FuzzRequest) {
  const headers: Record<string, string> = {};
  if (req.key) headers.authorization = `Bearer ${req.key}`;
  if (req.body?.contentType) headers['content-type'] = req.body.contentType;
  const abort = new AbortController();
  const sse = req.op.path.endsWith('/events');
  const res = await fetch(`${app.baseUrl}${req.path}${req.query}`, { method: req.op.method, headers, signal: abort.signal, ...(req.body && !['GET', 'HEAD'].includes(req.op.method) ? { body: req.body.data } : {}) });
  sent++;
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  // An event stream never ends by itself: its status and headers are the answer.
  const text = sse && res.status === 200 ? (abort.abort(), '') : await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text };
}

describe('fuzzing every operation of the OpenAPI document', () => {
  it('never answers 5xx, always answers errors in shape, stays healthy and never touches another workspace', async () => {
    assert.ok(operations.length >= 40, `${operations.length} operations`);
    console.log(`# fuzz seed ${seed} (replay: CELLWISE_FUZZ_SEED=${seed}), budget ${budgetMs / 1000} s or ${maxRuns} runs, ${operations.length} operations`);
    const readA = (globalThis as any).__readA as () => Promise<string>;
    const started = Date.now();
    try {
      await fc.assert(
        fc.asyncProperty(requestArbitrary(), async (req) => {
          const res = await send(req);
          const where = `${req.op.method} ${req.path.slice(0, 200)}${req.query.slice(0, 200)} [${req.body?.contentType ?? 'no body'}] ${JSON.stringify(String(req.body?.data ?? '').slice(0, 300))}`;
          assert.ok(res.status < 500, `${where} -> ${res.status} ${res.text.slice(0, 500)}`);
          if (res.status >= 400) {
            refused++;
            assert.match(res.contentType, /application\/json/, `${where} -> ${res.status} is JSON`);
            const body = JSON.parse(res.text);
            assert.ok(typeof body.error === 'string' && typeof body.code === 'string' && typeof body.details === 'object' && body.details !== null && !Array.isArray(body.details), `${where} -> error shape: ${res.text.slice(0, 300)}`);
            assert.equal(await readA(), snapshotA, `${where} changed workspace A`);
          }
          await new Promise((r) => setImmediate(r));
          assert.deepEqual(crashes.map(String), [], `${where} threw outside any request (a real server would have died)`);
          assert.equal((await fetch(`${app.baseUrl}/api/v2/keys`, { headers: { authorization: `Bearer ${keyB}` } })).status, 200, `${where}: the fuzzing key still works`);
          const health = await fetch(`${app.baseUrl}/health`);
          assert.equal(health.status, 200, `${where}: the server is unhealthy after it`);
        }),
        { seed, numRuns: maxRuns, interruptAfterTimeLimit: budgetMs, markInterruptAsFailure: false },
      );
    } catch (err) {
      console.log(`# fuzz FAILED with seed ${seed}: replay with CELLWISE_FUZZ_SEED=${seed}`);
      throw err;
    } finally {
      console.log(`# fuzz sent ${sent} requests (${refused} refused) in ${((Date.now() - started) / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}`);
    }
    assert.equal(await readA(), snapshotA, 'workspace A at the end');
  });
});
