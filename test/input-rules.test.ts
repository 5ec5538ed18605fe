import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';

/**
 * Issue 11, items 2 and 3, on SQLite and PostgreSQL alike: text stored as text (names, ids,
 * parameters, header names of files) is refused when it holds NUL or a lone surrogate, naming
 * the field; cell values keep every code unit; JSON nests at most 64 levels; errors never echo a
 * whole huge value.
 */
let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

const issuePaths = (res: { body: any }) => (res.body.details.issues as { path: string }[]).map((i) => i.path);
const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

describe('NUL and lone surrogates', () => {
  it('are refused in names, descriptions, column and webhook names, naming the field', async () => {
    for (const bad of ['a\u0000b', 'x\ud800', 'y\udc00z']) {
      assert.deepEqual(issuePaths(await expectInvalid(app.post('/api/v2/datasets', { name: bad, type: 'analysis' }))), ['name']);
      assert.deepEqual(issuePaths(await expectInvalid(app.post('/api/v2/datasets', { name: 'ok', description: bad, type: 'analysis' }))), ['description']);
      const ds = (await app.post('/api/v2/datasets', { name: `ds ${Math.random()}`, type: 'analysis' })).body;
      assert.deepEqual(issuePaths(await expectInvalid(app.post(`/api/v2/datasets/${ds.datasetId}/columns`, { name: bad, taskType: 'raw' }))), ['name']);
      assert.deepEqual(issuePaths(await expectInvalid(app.post('/api/v2/webhooks', { name: bad, url: 'https://example.com/hook', events: ['dataset.task.completed'], secret: 's'.repeat(16) }))), ['name']);
      assert.deepEqual(issuePaths(await expectInvalid(app.post('/api/v2/datasets', { name: 'rows', type: 'analysis', rows: [{ [bad]: 1 }] }))), [`rows.0.${JSON.stringify(bad)}`]);
    }
    assert.equal((await app.get('/health')).status, 200);
  });

  it('are refused in path and query parameters and in ids inside bodies', async () => {
    expectError(await app.get('/api/v2/datasets/ds_%00'), 400, 'INVALID_PARAMETERS');
    expectError(await app.get('/api/v2/datasources?contentType=text%00'), 400, 'INVALID_PARAMETERS');
    const ds = (await app.post('/api/v2/datasets', { name: 'ids', type: 'extraction', rows: [{ document: null }] })).body;
    const cell = (await app.get(`/api/v2/datasets/${ds.datasetId}/data`)).body.data[0][0].cellId;
    assert.deepEqual(issuePaths(await expectInvalid(app.post(`/api/v2/datasets/${ds.datasetId}/cells/${cell}/link-datasource`, { datasourceId: 'dsrc_\u0000' }))), ['datasourceId']);
    assert.deepEqual(issuePaths(await expectInvalid(app.del(`/api/v2/datasets/${ds.datasetId}/rows`, { rowIds: ['row_\ud800'] }))), ['rowIds.0']);
  });

  it('are refused in multipart fields, file names and a file\'s column names', async () => {
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'a.csv', content: 'a,b\n1,2\n' }], { name: 'n\u0000' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'a\u0000.csv', content: 'a,b\n1,2\n' }], { name: 'n' }), 400, 'INVALID_PARAMETERS');
    // (A raw NUL byte makes a file binary: 415. In JSON it arrives escaped, in a key or a value.)
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'a.jsonl', content: '{"a\\u0000": 1}\n' }], { name: 'n' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.upload('/api/v2/datasets/upload', [{ name: 'a.json', content: '[{"k\\ud800": 1}]' }], { name: 'n' }), 400, 'INVALID_PARAMETERS');
  });

  it('are kept exactly in cell values (JSON escapes carry every code unit)', async () => {
    const values = ['x\u0000y', 'p\ud800q', '\udfff', { 'k\ud800\u0000': ['v\u0000', 'w\udc00'] }];
    const ds = (await app.post('/api/v2/datasets', { name: 'values', type: 'analysis', rows: values.map((v) => ({ v })) })).body;
    const data = (await app.get(`/api/v2/datasets/${ds.datasetId}/data`)).body.data as any[][];
    assert.deepEqual(data.map((r) => r[0].value), values);
    const patched = await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${data[0]![0].cellId}`, { value: 'z\u0000\ud801' });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal((await app.get(`/api/v2/datasets/${ds.datasetId}/data`)).body.data[0][0].value, 'z\u0000\ud801');
    const csv = await app.upload('/api/v2/datasets/upload', [{ name: 'nul.jsonl', content: '{"a": "x\\u0000y", "b": "\\ud800"}\n' }], { name: 'nul values' });
    assert.equal(csv.status, 201, JSON.stringify(csv.body));
    assert.deepEqual((await app.get(`/api/v2/datasets/${csv.body.datasetId}/data`)).body.data[0].map((c: any) => c.value), ['x\u0000y', '\ud800']);
  });
});

describe('JSON nesting', () => {
  it('bodies nested deeper than 64 levels are a 400 with the depth; 64 levels pass', async () => {
    const tooDeep = await app.request('POST', '/api/v2/datasets', { raw: `{"name":"deep","type":"analysis","rows":[{"a":${deep(100_000)}}]}`, headers: { 'content-type': 'application/json' } });
    expectError(tooDeep, 400, 'INVALID_PARAMETERS');
    assert.equal(tooDeep.body.details.maxDepth, 64);
    const fits = await app.request('POST', '/api/v2/datasets', { raw: `{"name":"fits","type":"analysis","rows":[{"a":${deep(61)}}]}`, headers: { 'content-type': 'application/json' } });
    assert.equal(fits.status, 201, JSON.stringify(fits.body));
  });

  it('JSON and JSONL uploads nested 100,000 deep are a 400 with the depth', async () => {
    for (const [name, content] of [['d.json', `[{"a":${deep(100_000)}}]`], ['d.jsonl', `{"a":1}\n{"a":${deep(100_000)}}\n`]] as const) {
      const res = await app.upload('/api/v2/datasets/upload', [{ name, content }], { name });
      expectError(res, 400, 'INVALID_PARAMETERS');
      assert.equal(res.body.details.maxDepth, 64);
      const src = await app.upload('/api/v2/datasources/upload', [{ name, content }]);
      assert.equal(src.status, 201);
      assert.equal(src.body.status, 'failed');
    }
    assert.equal((await app.get('/health')).status, 200);
  });
});

describe('errors echo values cut short', () => {
  it('a 1 MB id or name gives an error body of a few hundred bytes', async () => {
    const big = 'x'.repeat(1_000_000);
    const ds = (await app.post('/api/v2/datasets', { name: 'echo', type: 'extraction', rows: [{ document: null }] })).body;
    const cell = (await app.get(`/api/v2/datasets/${ds.datasetId}/data`)).body.data[0][0].cellId;
    const responses = [
      await app.post(`/api/v2/datasets/${ds.datasetId}/cells/${cell}/link-datasource`, { datasourceId: big }),
      await app.post(`/api/v2/datasets/${ds.datasetId}/columns`, { name: 'a', taskType: big }),
      await app.post('/api/v2/datasets', { name: 'a', type: 'analysis', [big]: 1 }),
      await app.del(`/api/v2/datasets/${ds.datasetId}/rows`, { rowIds: Array.from({ length: 5000 }, (_, i) => `row_${i}`) }),
    ];
    for (const res of responses) {
      assert.ok(res.status >= 400 && res.status < 500, JSON.stringify(res.body).slice(0, 300));
      assert.ok(JSON.stringify(res.body).length < 6000, `error body of ${JSON.stringify(res.body).length} characters`);
    }
  });
});

async function expectInvalid(res: Promise<{ status: number; body: any; headers: Headers }>) {
  const r = await res;
  expectError(r, 400, 'INVALID_PARAMETERS');
  return r;
}
