import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';
import { lockWithTask } from './helpers/lock.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

async function dataset(n = 3) {
  const rows = Array.from({ length: n }, (_, i) => ({ n: i, word: `w${i}` }));
  const res = await app.post('/api/v2/datasets', { name: 'Rows', type: 'analysis', rows, columns: [{ name: 'Echo', taskType: 'ai_enrich', metadata: { prompt: 'repeat {{word}}' } }, { name: 'Echo2', taskType: 'ai_enrich', metadata: { prompt: 'again {{Echo}}' } }] });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}
const grid = async (id: string, q = '') => (await app.get(`/api/v2/datasets/${id}/data?limit=1000${q}`)).body;

describe('rows', () => {
  it('appends rows by column name or id and answers them in the data shape', async () => {
    const ds = await dataset();
    const wordId = ds.columns.find((c: any) => c.name === 'word').columnId;
    const res = await app.post(`/api/v2/datasets/${ds.datasetId}/rows`, { rows: [{ n: 10, [wordId]: 'ten' }, { word: { nested: [1, 2] } }] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.rowCount, 5);
    assert.equal(res.body.rowIds.length, 2);
    // `word` is a text column and `n` a number column (typed from the rows the dataset was made
    // with): an object sent to the text column is stored as its JSON text.
    assert.deepEqual(res.body.data.map((r: any[]) => r.map((c) => c.value)), [[10, 'ten', null, null], [null, '{"nested":[1,2]}', null, null]]);
    const g = await grid(ds.datasetId);
    assert.deepEqual(g.data.map((r: any[]) => r[0].value), [0, 1, 2, 10, null]);
    const bad = await app.post(`/api/v2/datasets/${ds.datasetId}/rows`, { rows: [{ nope: 1 }] });
    expectError(bad, 404, 'COLUMN_NOT_FOUND');
    expectError(await app.post(`/api/v2/datasets/${ds.datasetId}/rows`, { rows: [] }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${ds.datasetId}/rows`, { rows: 'x' }), 400, 'INVALID_PARAMETERS');
    assert.equal((await app.get(`/api/v2/datasets/${ds.datasetId}`)).body.rowCount, 5);
  });

  it('gives new rows and edited cells their column\'s type, and refuses what does not convert', async () => {
    const ds = await dataset();
    const added = await app.post(`/api/v2/datasets/${ds.datasetId}/rows`, { rows: [{ n: '42', word: 7 }, { n: 1.5, word: true }] });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.deepEqual(added.body.data.map((r: any[]) => [r[0].value, r[1].value]), [[42, '7'], [1.5, 'true']]);
    const refused = await app.post(`/api/v2/datasets/${ds.datasetId}/rows`, { rows: [{ n: 'abc' }, { n: '' }] });
    expectError(refused, 400, 'INVALID_PARAMETERS');
    assert.deepEqual(refused.body.details.issues.map((i: any) => i.path), ['rows.0.n', 'rows.1.n']);
    assert.equal((await app.get(`/api/v2/datasets/${ds.datasetId}`)).body.rowCount, 5, 'nothing of a refused request is kept');
    const g = await grid(ds.datasetId);
    const edited = await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[0][0].cellId}`, { value: ' 12 ' });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.equal(edited.body.value, 12);
    assert.equal((await grid(ds.datasetId)).data[0][0].value, 12);
    expectError(await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[0][0].cellId}`, { value: 'twelve' }), 400, 'INVALID_PARAMETERS');
    assert.equal((await grid(ds.datasetId)).data[0][0].value, 12, 'a refused edit changes nothing');
    assert.equal((await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[0][1].cellId}`, { value: 5 })).body.value, '5');
    assert.equal((await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[0][0].cellId}`, { value: null })).body.value, null, 'null empties a cell of any type');
  });

  it('deletes rows in one transaction and keeps positions dense for paging', async () => {
    const ds = await dataset(10);
    const g = await grid(ds.datasetId);
    const victims = [g.rowIds[0], g.rowIds[4], g.rowIds[9]];
    const missing = await app.del(`/api/v2/datasets/${ds.datasetId}/rows`, { rowIds: [g.rowIds[1], 'row_nope'] });
    expectError(missing, 404, 'ROW_NOT_FOUND');
    assert.deepEqual(missing.body.details, { rowId: 'row_nope' });
    assert.equal((await grid(ds.datasetId)).rowIds.length, 10, 'nothing deleted when one id is unknown');
    const res = await app.del(`/api/v2/datasets/${ds.datasetId}/rows`, { rowIds: victims });
    assert.equal(res.status, 200);
    assert.equal(res.body.rowCount, 7);
    const page = await app.get(`/api/v2/datasets/${ds.datasetId}/data?page=2&limit=3`);
    assert.deepEqual(page.body.data.map((r: any[]) => r[0].value), [5, 6, 7]);
    assert.equal(page.body.pagination.total, 7);
    expectError(await app.del(`/api/v2/datasets/${ds.datasetId}/rows`, { rowIds: [] }), 400, 'INVALID_PARAMETERS');
  });
});

describe('cells', () => {
  it('updates a value, resets metadata, and marks dependents in the row stale (transitively)', async () => {
    const ds = await dataset();
    const g = await grid(ds.datasetId);
    await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[0][2].cellId}`, { value: 'w0 w0' });
    await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[0][3].cellId}`, { value: 'again' });
    await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[1][2].cellId}`, { value: 'w1 w1' });

    const res = await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[0][1].cellId}`, { value: 'changed' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { cellId: g.data[0][1].cellId, rowId: g.rowIds[0], columnId: g.columns[1].columnId, value: 'changed', status: 'done', metadata: {} });
    const after = await grid(ds.datasetId, '&includeMetadata=true');
    assert.deepEqual(after.data[0].map((c: any) => c.status), ['done', 'done', 'stale', 'stale']);
    assert.equal(after.data[1][2].status, 'done', 'other rows are untouched');

    const cleared = await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${g.data[0][1].cellId}`, { value: null });
    assert.equal(cleared.body.status, 'empty');
  });

  it('refuses metadata, a missing value, and unknown cells', async () => {
    const ds = await dataset();
    const cellId = (await grid(ds.datasetId)).data[0][0].cellId;
    expectError(await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${cellId}`, { value: 1, metadata: { confidence: 1 } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${cellId}`, {}), 400, 'INVALID_PARAMETERS');
    expectError(await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/cell_nope`, { value: 1 }), 404, 'CELL_NOT_FOUND');
    const other = await dataset();
    const otherCell = (await grid(other.datasetId)).data[0][0].cellId;
    expectError(await app.patch(`/api/v2/datasets/${ds.datasetId}/cells/${otherCell}`, { value: 1 }), 404, 'CELL_NOT_FOUND');
  });
});

describe('the processing lock', () => {
  it('answers PROCESSING_IN_PROGRESS to every change while a task is active, and still serves reads', async () => {
    const ds = await dataset();
    const g = await grid(ds.datasetId);
    const taskId = await lockWithTask(app, ds.datasetId);
    const detail = await app.get(`/api/v2/datasets/${ds.datasetId}`);
    assert.equal(detail.body.status, 'processing');
    assert.equal(detail.body.activeTaskId, taskId);
    assert.equal((await app.get(`/api/v2/datasets?status=processing`)).body.datasets.some((d: any) => d.datasetId === ds.datasetId), true);
    const id = ds.datasetId;
    const col = ds.columns[0].columnId;
    const attempts = [
      await app.patch(`/api/v2/datasets/${id}/cells/${g.data[0][0].cellId}`, { value: 1 }),
      await app.patch(`/api/v2/datasets/${id}/columns/${col}`, { name: 'x' }),
      await app.put(`/api/v2/datasets/${id}/columns/${col}/task-type`, { taskType: 'raw' }),
      await app.post(`/api/v2/datasets/${id}/columns`, { name: 'new', taskType: 'raw' }),
      await app.del(`/api/v2/datasets/${id}/columns/${ds.columns[3].columnId}`),
      await app.post(`/api/v2/datasets/${id}/rows`, { rows: [{ n: 1 }] }),
      await app.del(`/api/v2/datasets/${id}/rows`, { rowIds: [g.rowIds[0]] }),
      await app.del(`/api/v2/datasets/${id}`),
    ];
    for (const res of attempts) expectError(res, 409, 'PROCESSING_IN_PROGRESS');
    assert.equal((await app.get(`/api/v2/datasets/${id}/data`)).status, 200);
    assert.deepEqual((await grid(id)).data[0].map((c: any) => c.value), g.data[0].map((c: any) => c.value), 'nothing changed');

    const forced = await app.del(`/api/v2/datasets/${id}?force=true`);
    assert.equal(forced.status, 200);
    expectError(await app.get(`/api/v2/datasets/${id}`), 404, 'DATASET_NOT_FOUND');
  });
});
