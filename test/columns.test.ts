import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
before(async () => {
  app = await startTestApp();
});
after(() => app.close());

async function dataset(type = 'analysis') {
  const res = await app.post('/api/v2/datasets', { name: 'People', type, rows: [{ Name: 'Ada', City: 'London' }, { Name: 'Alan', City: 'Wilmslow' }] });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const col = (name: string) => res.body.columns.find((c: any) => c.name === name).columnId as string;
  return { id: res.body.datasetId as string, name: col('Name'), city: col('City') };
}
const grid = async (id: string) => (await app.get(`/api/v2/datasets/${id}/data?includeMetadata=true`)).body;

describe('columns', () => {
  it('adds a computed column at a position and gives every row an empty cell', async () => {
    const ds = await dataset();
    const res = await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'Write about {{Name}} from {{ City }}' }, position: 1 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.position, 1);
    assert.equal(res.body.taskType, 'ai_enrich');
    const g = await grid(ds.id);
    assert.deepEqual(g.columns.map((c: any) => c.name), ['Name', 'Bio', 'City']);
    assert.deepEqual(g.data.map((r: any[]) => r[1].status), ['empty', 'empty']);
    expectError(await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'Bio', taskType: 'raw' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'X', taskType: 'raw', position: 99 }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'X', taskType: 'places_count', metadata: { prompt: 'cafes', radiusMeters: 50001 } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'X', taskType: 'places_count', metadata: { prompt: 'cafes', radiusMeters: 0 } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'X', taskType: 'classification', metadata: { categories: ['only one'] } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'X', taskType: 'web_enrich', metadata: { urlColumnId: 'col_nope' } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'X', taskType: 'doc_extraction' }), 400, 'INVALID_TASK_TYPE');
  });

  it('accepts every task type with valid metadata, and stores column references by id', async () => {
    const ds = await dataset('extraction');
    const ok = [
      { name: 'T1', taskType: 'doc_extraction', metadata: { extractionPrompt: 'Total amount', ocr: 'auto', outputSchema: { type: 'number' } } },
      { name: 'T2', taskType: 'web_enrich', metadata: { prompt: 'CEO of {{Name}}', urlColumnId: 'City', maxPages: 3 } },
      { name: 'T3', taskType: 'classification', metadata: { categories: ['a', 'b'], multiLabel: true, confidence: 0.8 } },
      { name: 'T4', taskType: 'ai_enrich', metadata: { prompt: 'x', temperature: 0.2, model: 'ollama:llama3.1' } },
      { name: 'T5', taskType: 'places_count', metadata: { prompt: 'coffee shops', radiusMeters: 500, tags: { amenity: 'cafe' } } },
      { name: 'T6', taskType: 'raw' },
    ];
    for (const c of ok) {
      const res = await app.post(`/api/v2/datasets/${ds.id}/columns`, c);
      assert.equal(res.status, 201, `${c.taskType}: ${JSON.stringify(res.body)}`);
    }
    const t2 = (await app.get(`/api/v2/datasets/${ds.id}`)).body.columns.find((c: any) => c.name === 'T2');
    assert.equal(t2.metadata.urlColumnId, ds.city);
  });

  it('PATCH merges metadata, removes null keys, validates, and marks done cells stale when the prompt changes', async () => {
    const ds = await dataset();
    const col = (await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}', temperature: 0.5 } })).body;
    const cellId = (await grid(ds.id)).data[0][2].cellId;
    await app.patch(`/api/v2/datasets/${ds.id}/cells/${cellId}`, { value: 'computed earlier' });

    const same = await app.patch(`/api/v2/datasets/${ds.id}/columns/${col.columnId}`, { metadata: { confidence: 0.9, temperature: null } });
    assert.equal(same.status, 200);
    assert.deepEqual(same.body.metadata, { prompt: 'About {{Name}}', confidence: 0.9 });
    assert.equal((await grid(ds.id)).data[0][2].status, 'done', 'a threshold change leaves values as they are');

    const changed = await app.patch(`/api/v2/datasets/${ds.id}/columns/${col.columnId}`, { metadata: { prompt: 'Summarise {{Name}} in {{City}}' } });
    assert.equal(changed.status, 200);
    const g = await grid(ds.id);
    assert.equal(g.data[0][2].status, 'stale');
    assert.equal(g.data[0][2].value, 'computed earlier', 'values stay');
    assert.equal(changed.body.taskType, 'ai_enrich');

    expectError(await app.patch(`/api/v2/datasets/${ds.id}/columns/${col.columnId}`, { metadata: { prompt: null } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.patch(`/api/v2/datasets/${ds.id}/columns/${col.columnId}`, { metadata: { prompt: '{{Missing}}' } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.patch(`/api/v2/datasets/${ds.id}/columns/${col.columnId}`, { metadata: { prompt: 'self {{Bio}}' } }), 400, 'INVALID_PARAMETERS');
    expectError(await app.patch(`/api/v2/datasets/${ds.id}/columns/${col.columnId}`, { name: 'City' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.patch(`/api/v2/datasets/${ds.id}/columns/col_nope`, { name: 'Z' }), 404, 'COLUMN_NOT_FOUND');
    assert.deepEqual((await app.get(`/api/v2/datasets/${ds.id}`)).body.columns.find((c: any) => c.columnId === col.columnId).metadata, { prompt: 'Summarise {{Name}} in {{City}}', confidence: 0.9 }, 'refused patches change nothing');
  });

  it('renaming a column rewrites the prompts that reference it', async () => {
    const ds = await dataset();
    const col = (await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } })).body;
    const res = await app.patch(`/api/v2/datasets/${ds.id}/columns/${ds.name}`, { name: 'Full name' });
    assert.equal(res.status, 200);
    const bio = (await app.get(`/api/v2/datasets/${ds.id}`)).body.columns.find((c: any) => c.columnId === col.columnId);
    assert.equal(bio.metadata.prompt, 'About {{Full name}}');
  });

  it('rejects cycles across columns', async () => {
    const ds = await dataset();
    const a = (await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'A', taskType: 'ai_enrich', metadata: { prompt: '{{Name}}' } })).body;
    await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'B', taskType: 'ai_enrich', metadata: { prompt: '{{A}}' } });
    const res = await app.patch(`/api/v2/datasets/${ds.id}/columns/${a.columnId}`, { metadata: { prompt: '{{B}}' } });
    expectError(res, 400, 'INVALID_PARAMETERS');
    assert.equal(res.body.details.cycle.length, 3);
  });

  it('PUT task-type validates, then resets the whole column and marks readers stale', async () => {
    const ds = await dataset();
    assert.equal((await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'Greeting', taskType: 'ai_enrich', metadata: { prompt: 'Hello {{City}}' } })).status, 201);
    const g0 = await grid(ds.id);
    await app.patch(`/api/v2/datasets/${ds.id}/cells/${g0.data[0][2].cellId}`, { value: 'Hello London' });

    expectError(await app.put(`/api/v2/datasets/${ds.id}/columns/${ds.city}/task-type`, { taskType: 'ai_enrich' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.put(`/api/v2/datasets/${ds.id}/columns/${ds.city}/task-type`, { taskType: 'magic' }), 400, 'INVALID_TASK_TYPE');
    assert.deepEqual((await grid(ds.id)).data.map((r: any[]) => r[1].value), ['London', 'Wilmslow'], 'a refused change resets nothing');

    const res = await app.put(`/api/v2/datasets/${ds.id}/columns/${ds.city}/task-type`, { taskType: 'ai_enrich', metadata: { prompt: 'Where does {{Name}} live?' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.taskType, 'ai_enrich');
    const g = await grid(ds.id);
    assert.deepEqual(g.data.map((r: any[]) => [r[1].value, r[1].status]), [[null, 'empty'], [null, 'empty']]);
    assert.equal(g.data[0][2].status, 'stale');
    // The change is stored, not only echoed: the dataset's columns now list City as ai_enrich with its prompt.
    const city = (await app.get(`/api/v2/datasets/${ds.id}`)).body.columns.find((c: any) => c.columnId === ds.city);
    assert.deepEqual([city.taskType, city.metadata.prompt], ['ai_enrich', 'Where does {{Name}} live?']);
  });

  it('deletes a column unless another column reads it', async () => {
    const ds = await dataset();
    await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } });
    const blocked = await app.del(`/api/v2/datasets/${ds.id}/columns/${ds.name}`);
    expectError(blocked, 400, 'INVALID_PARAMETERS');
    const res = await app.del(`/api/v2/datasets/${ds.id}/columns/${ds.city}`);
    assert.equal(res.status, 200);
    const detail = (await app.get(`/api/v2/datasets/${ds.id}`)).body;
    assert.deepEqual(detail.columns.map((c: any) => [c.name, c.position]), [['Name', 0], ['Bio', 1]]);
    assert.equal((await grid(ds.id)).data[0].length, 2);
    expectError(await app.del(`/api/v2/datasets/${ds.id}/columns/${ds.city}`), 404, 'COLUMN_NOT_FOUND');
  });
});
