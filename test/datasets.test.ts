import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

const companies = [
  { Company: 'Acme', Domain: 'acme.com', Employees: 120 },
  { Company: 'Globex', Domain: 'globex.com', Employees: 5400 },
  { Company: 'Initech', Domain: 'initech.com', Employees: null },
];

async function createDataset(body: Record<string, unknown> = {}) {
  const res = await app.post('/api/v2/datasets', { name: 'Companies', type: 'analysis', rows: companies, ...body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

describe('datasets', () => {
  it('creates a dataset from JSON rows and reads it back as a 2D array', async () => {
    const ds = await createDataset({ description: 'test', columns: [{ name: 'Summary', taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Company}} at {{Domain}}' } }] });
    assert.match(ds.datasetId, /^ds_/);
    assert.equal(ds.type, 'analysis');
    assert.equal(ds.status, 'completed');
    assert.equal(ds.rowCount, 3);
    assert.equal(ds.columnCount, 4);
    assert.deepEqual(ds.columns.map((c: any) => [c.name, c.taskType, c.position]), [['Company', 'raw', 0], ['Domain', 'raw', 1], ['Employees', 'raw', 2], ['Summary', 'ai_enrich', 3]]);
    assert.equal(ds.activeTaskId, null);

    const data = await app.get(`/api/v2/datasets/${ds.datasetId}/data`);
    assert.equal(data.status, 200);
    assert.equal(data.body.datasetId, ds.datasetId);
    assert.deepEqual(data.body.pagination, { page: 1, limit: 50, total: 3, totalPages: 1, nextCursor: null });
    assert.equal(data.body.rowIds.length, 3);
    assert.deepEqual(data.body.data.map((row: any[]) => row.map((c) => c.value)), [['Acme', 'acme.com', 120, null], ['Globex', 'globex.com', 5400, null], ['Initech', 'initech.com', null, null]]);
    assert.deepEqual(data.body.data[2].map((c: any) => c.status), ['done', 'done', 'empty', 'empty']);
    assert.ok(data.body.data[0][0].cellId.startsWith('cell_'));
    assert.equal(data.body.data[0][0].metadata, undefined);
  });

  it('pages by row position, selects columns, and includes metadata on request', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({ n: i, label: `row ${i}` }));
    const ds = await createDataset({ rows });
    const page2 = await app.get(`/api/v2/datasets/${ds.datasetId}/data?page=2&limit=10&includeMetadata=true`);
    assert.equal(page2.status, 200);
    assert.deepEqual(page2.body.data.map((r: any[]) => r[0].value), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    assert.deepEqual(page2.body.pagination, { page: 2, limit: 10, total: 25, totalPages: 3, nextCursor: page2.body.pagination.nextCursor });
    assert.equal(typeof page2.body.pagination.nextCursor, 'string', 'more rows follow: a cursor to them');
    assert.deepEqual(page2.body.data[0][0].metadata, {});
    const labelId = ds.columns.find((c: any) => c.name === 'label').columnId;
    const only = await app.get(`/api/v2/datasets/${ds.datasetId}/data?page=3&limit=10&columns=${labelId}`);
    assert.deepEqual(only.body.columns.map((c: any) => c.name), ['label']);
    assert.deepEqual(only.body.data.map((r: any[]) => r.map((c) => c.value)), [['row 20'], ['row 21'], ['row 22'], ['row 23'], ['row 24']]);
    const beyond = await app.get(`/api/v2/datasets/${ds.datasetId}/data?page=9&limit=10`);
    assert.deepEqual(beyond.body.data, []);
  });

  it('refuses bad paging, unknown columns and unknown datasets with the SPEC codes', async () => {
    const ds = await createDataset();
    for (const q of ['limit=1001', 'limit=0', 'page=0', 'page=-1', 'limit=abc', 'includeMetadata=maybe']) {
      expectError(await app.get(`/api/v2/datasets/${ds.datasetId}/data?${q}`), 400, 'INVALID_PARAMETERS');
    }
    // Unknown query parameters are ignored (issue 11 item 10: a cache-busting _=123 must not fail).
    assert.equal((await app.get(`/api/v2/datasets/${ds.datasetId}/data?bogus=1`)).status, 200);
    const res = await app.get(`/api/v2/datasets/${ds.datasetId}/data?columns=col_nope`);
    expectError(res, 404, 'COLUMN_NOT_FOUND');
    assert.deepEqual(res.body.details, { columnId: 'col_nope' });
    expectError(await app.get('/api/v2/datasets/ds_missing'), 404, 'DATASET_NOT_FOUND');
    expectError(await app.get('/api/v2/datasets/ds_missing/data'), 404, 'DATASET_NOT_FOUND');
    expectError(await app.get('/api/v2/datasets?limit=101'), 400, 'INVALID_PARAMETERS');
    expectError(await app.get('/api/v2/datasets?type=spreadsheet'), 400, 'INVALID_PARAMETERS');
  });

  it('lists datasets newest first with filters and pagination', async () => {
    const fresh = await startTestApp();
    try {
      for (const [name, type] of [['a', 'analysis'], ['b', 'classification'], ['c', 'data_enrichment'], ['d', 'data_extraction']]) {
        assert.equal((await fresh.post('/api/v2/datasets', { name, type })).status, 201);
      }
      const all = await fresh.get('/api/v2/datasets?page=1&limit=2');
      assert.equal(all.status, 200);
      assert.deepEqual(all.body.pagination, { page: 1, limit: 2, total: 4, totalPages: 2 });
      assert.deepEqual(all.body.datasets.map((d: any) => d.name), ['d', 'c']);
      const analysis = await fresh.get('/api/v2/datasets?type=analysis');
      assert.deepEqual(analysis.body.datasets.map((d: any) => d.name).sort(), ['a', 'c']);
      const extraction = await fresh.get('/api/v2/datasets?type=extraction&status=completed');
      assert.deepEqual(extraction.body.datasets.map((d: any) => [d.name, d.type]), [['d', 'extraction']]);
      assert.equal((await fresh.get('/api/v2/datasets?status=processing')).body.pagination.total, 0);
    } finally {
      await fresh.close();
    }
  });

  it('validates create bodies: malformed JSON, wrong types, unknown fields, bad task types and metadata', async () => {
    const raw = await app.request('POST', '/api/v2/datasets', { raw: '{"name": "x",', headers: { 'content-type': 'application/json' } });
    expectError(raw, 400, 'INVALID_PARAMETERS');
    expectError(await app.post('/api/v2/datasets', { name: 'x' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post('/api/v2/datasets', { name: 42, type: 'analysis' }), 400, 'INVALID_PARAMETERS');
    const unknown = await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', colums: [] });
    expectError(unknown, 400, 'INVALID_PARAMETERS');
    assert.ok(unknown.body.details.issues.length >= 1);
    expectError(await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', columns: [{ name: 'a', taskType: 'telepathy' }] }), 400, 'INVALID_TASK_TYPE');
    expectError(await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', columns: [{ name: 'a', taskType: 'doc_extraction' }] }), 400, 'INVALID_TASK_TYPE');
    const noPrompt = await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', columns: [{ name: 'a', taskType: 'ai_enrich' }] });
    expectError(noPrompt, 400, 'INVALID_PARAMETERS');
    assert.deepEqual(noPrompt.body.details.issues.map((i: any) => i.path), ['columns.0.metadata.prompt']);
    expectError(await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', columns: [{ name: 'a' }, { name: 'a' }] }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', rows: [{ a: 1, 'a ': 2 }] }), 400, 'INVALID_PARAMETERS');
    const padded = await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', rows: [{ ' Padded ': 1 }] });
    assert.equal(padded.status, 201, JSON.stringify(padded.body));
    assert.equal(padded.body.columns[0].name, 'Padded');
    expectError(await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', columns: [{ name: 'a', taskType: 'ai_enrich', metadata: { prompt: '{{Nope}}' } }] }), 400, 'INVALID_PARAMETERS');
    const before = (await app.get('/api/v2/datasets?limit=100')).body.pagination.total;
    expectError(await app.post('/api/v2/datasets', { name: 'x', type: 'analysis', columns: [{ name: 'a', taskType: 'ai_enrich', metadata: { prompt: '{{b}}' } }, { name: 'b', taskType: 'ai_enrich', metadata: { prompt: '{{a}}' } }] }), 400, 'INVALID_PARAMETERS');
    assert.equal((await app.get('/api/v2/datasets?limit=100')).body.pagination.total, before, 'a refused create stores nothing');
  });

  it('updates name and description', async () => {
    const ds = await createDataset();
    const res = await app.patch(`/api/v2/datasets/${ds.datasetId}`, { name: 'Renamed', description: null });
    assert.equal(res.status, 200);
    assert.equal(res.body.name, 'Renamed');
    assert.equal(res.body.description, null);
    expectError(await app.patch(`/api/v2/datasets/${ds.datasetId}`, { name: '' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.patch(`/api/v2/datasets/${ds.datasetId}`, { type: 'extraction' }), 400, 'INVALID_PARAMETERS');
  });

  it('deletes a dataset with everything in it', async () => {
    const ds = await createDataset();
    const res = await app.del(`/api/v2/datasets/${ds.datasetId}`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { datasetId: ds.datasetId, deleted: true });
    expectError(await app.get(`/api/v2/datasets/${ds.datasetId}`), 404, 'DATASET_NOT_FOUND');
    expectError(await app.del(`/api/v2/datasets/${ds.datasetId}`), 404, 'DATASET_NOT_FOUND');
  });
});
