import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addRowsForLinkedDatasources } from '../src/features/datasets/extraction-rows.ts';
import { findDataset } from '../src/store/datasets.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

const files = (names: string[]) => names.map((name) => ({ field: 'files[]', name, content: `Text of ${name}` }));

async function links(datasetId: string): Promise<string[]> {
  const g = (await app.get(`/api/v2/datasets/${datasetId}/data`)).body;
  const k = g.columns.findIndex((c: any) => c.name === 'document');
  return g.data.map((r: any[]) => r[k].value?.fileName ?? null);
}

/** new-rows on an extraction dataset, at service level: the route is wired by the tasks feature. */
async function addRows(datasetId: string, rowCount: number) {
  const store = app.running.store;
  return store.transaction(async (trx) => {
    await store.lockDataset(trx, datasetId);
    const { workspace_id } = await trx.selectFrom('datasets').select('workspace_id').where('id', '=', datasetId).executeTakeFirstOrThrow();
    return addRowsForLinkedDatasources(trx, (await findDataset(trx, workspace_id, datasetId))!, rowCount);
  });
}

describe('addRowsForLinkedDatasources (new-rows on extraction datasets)', () => {
  it('adds rows for linked datasources that no row links any more, oldest first, up to rowCount, then nothing', async () => {
    const res = await app.upload('/api/v2/datasets/upload', files(['a.txt', 'b.txt', 'c.txt']), { name: 'Docs' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.datasetId as string;
    assert.deepEqual((await addRows(id, 10)).rowIds, [], 'every linked datasource has its row');

    const data = (await app.get(`/api/v2/datasets/${id}/data`)).body;
    const del = await app.del(`/api/v2/datasets/${id}/rows`, { rowIds: [data.rowIds[0], data.rowIds[2]] });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.deepEqual(await links(id), ['b.txt']);

    const first = await addRows(id, 1);
    assert.equal(first.rowIds.length, 1);
    assert.deepEqual(await links(id), ['b.txt', 'a.txt']);
    const second = await addRows(id, 10);
    assert.equal(second.rowIds.length, 1);
    assert.deepEqual(await links(id), ['b.txt', 'a.txt', 'c.txt']);
    assert.equal((await app.get(`/api/v2/datasets/${id}`)).body.rowCount, 3);
    assert.deepEqual((await addRows(id, 10)).rowIds, []);
  });

  it('a datasource replaced in its cell by link-datasource gets a row of its own again', async () => {
    const res = await app.upload('/api/v2/datasets/upload', files(['x.txt']), { name: 'Relink' });
    const id = res.body.datasetId as string;
    const other = await app.upload('/api/v2/datasources/upload', [{ name: 'y.txt', content: 'Text of y' }]);
    const cellId = (await app.get(`/api/v2/datasets/${id}/data`)).body.data[0][0].cellId;
    const linked = await app.post(`/api/v2/datasets/${id}/cells/${cellId}/link-datasource`, { datasourceId: other.body.datasourceId });
    assert.equal(linked.status, 200, JSON.stringify(linked.body));
    assert.deepEqual(await links(id), ['y.txt']);
    const added = await addRows(id, 5);
    assert.equal(added.rowIds.length, 1);
    assert.deepEqual(await links(id), ['y.txt', 'x.txt']);
  });

  it('does nothing on an analysis dataset', async () => {
    const res = await app.post('/api/v2/datasets', { name: 'Table', type: 'analysis', rows: [{ A: 1 }] });
    const store = app.running.store;
    const dataset = (await store.db.selectFrom('datasets').selectAll().where('id', '=', res.body.datasetId).executeTakeFirstOrThrow());
    const record = (await findDataset(store.db, dataset.workspace_id, dataset.id))!;
    assert.deepEqual(await addRowsForLinkedDatasources(store.db, record, 5), { rowIds: [], datasourceIds: [] });
  });
});
