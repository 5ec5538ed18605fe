import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { CellwiseError, createCellwiseClient, unwrap, type ByteProgress } from '../clients/typescript/index.ts';
import { generateClientSchema, SCHEMA_FILE } from '../scripts/generate-client.ts';
import { startFakeOpenAI, type FakeLlmServer } from './fakes/openai-server.ts';
import { ADMIN_KEY, startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
let fake: FakeLlmServer;
before(async () => {
  fake = await startFakeOpenAI({ latencyMs: 2 });
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl });
});
after(async () => {
  await app.close();
  await fake.close();
});

describe('the typed client (clients/typescript)', () => {
  it('has generated types equal to what the live document generates (run npm run client:generate after changing a route)', async () => {
    assert.equal(await readFile(SCHEMA_FILE, 'utf8'), await generateClientSchema(), 'clients/typescript/schema.ts is stale: npm run client:generate');
  });

  it('uploads with progress, adds an AI column, runs it to the end, reads every row and downloads an export', async () => {
    const client = createCellwiseClient({ baseUrl: app.baseUrl, key: ADMIN_KEY });
    const csv = `Name\n${Array.from({ length: 30 }, (_, i) => `person ${i}`).join('\n')}\n`;
    const sent: ByteProgress[] = [];
    const ds = await client.uploadDataset([{ name: 'people.csv', data: new Blob([csv]) }], { name: 'people', type: 'analysis', onProgress: (p) => sent.push(p) });
    assert.equal(ds.rowCount, 30);
    assert.deepEqual(sent.at(-1), { bytes: csv.length, total: csv.length });

    const column = unwrap(await client.api.POST('/api/v2/datasets/{datasetId}/columns', { params: { path: { datasetId: ds.datasetId } }, body: { name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } } }));
    const seen: string[] = [];
    const task = await client.runAndWait(ds.datasetId, { columnIds: [column.columnId] }, { intervalMs: 20, onProgress: (t) => seen.push(t.status) });
    assert.equal(task.status, 'completed');
    assert.deepEqual(task.progress, { total: 30, completed: 30, failed: 0, skipped: 0 });
    assert.ok(seen.length >= 1);

    const rows = [];
    for await (const row of client.iterateRows(ds.datasetId, { pageSize: 7, includeMetadata: true })) rows.push(row);
    assert.equal(rows.length, 30, 'five pages of 7 and one of 2');
    assert.equal(new Set(rows.map((r) => r.rowId)).size, 30);
    assert.ok(rows.every((r) => r.cells.Bio!.status === 'done' && /^fake answer /.test(String(r.cells.Bio!.value))));

    const exported = await client.exportDataset(ds.datasetId, { format: 'csv', rowCount: 100 });
    const got: ByteProgress[] = [];
    const chunks: Uint8Array[] = [];
    for await (const chunk of client.download(exported.downloadUrl, { onProgress: (p) => got.push(p) })) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    assert.equal(text.trim().split(/\r\n/).length, 31);
    assert.deepEqual(got.at(-1), { bytes: exported.sizeBytes, total: exported.sizeBytes });
  });

  it('turns a refused call into a CellwiseError with the API code', async () => {
    const client = createCellwiseClient({ baseUrl: app.baseUrl, key: ADMIN_KEY });
    await assert.rejects(client.runAndWait('ds_missing'), (err: unknown) => err instanceof CellwiseError && err.code === 'DATASET_NOT_FOUND' && err.status === 404);
    const anonymous = createCellwiseClient({ baseUrl: app.baseUrl });
    await assert.rejects(async () => unwrap(await anonymous.api.GET('/api/v2/datasets')), (err: unknown) => err instanceof CellwiseError && err.status === 401);
    const nowhere = createCellwiseClient({ baseUrl: 'http://127.0.0.1:1' });
    await assert.rejects(nowhere.exportDataset('ds_x', { format: 'csv', rowCount: 1 }), (err: unknown) => err instanceof CellwiseError && err.code === 'NETWORK_ERROR');
  });
});
