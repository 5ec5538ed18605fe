import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from './fakes/openai-server.ts';
import { waitForTask } from './helpers/tasks.ts';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
let fake: FakeLlmServer;
/** Per-test script for the fake; undefined = its deterministic default answers. */
let script: ((req: RecordedRequest) => FakeReply | undefined) | undefined;
before(async () => {
  fake = await startFakeOpenAI({ latencyMs: 5, respond: (r) => script?.(r) });
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', llmMaxAttempts: 3 });
});
after(async () => {
  await app.close();
  await fake.close();
});

const sha = (text: string) => `fake answer ${createHash('sha1').update(text).digest('hex').slice(0, 12)}`;


async function dataset(rows: Record<string, string>[] = [{ Name: 'Ada', City: 'London' }, { Name: 'Alan', City: 'Wilmslow' }]) {
  const res = await app.post('/api/v2/datasets', { name: 'People', type: 'analysis', rows });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const col = (name: string) => res.body.columns.find((c: any) => c.name === name)?.columnId as string;
  return { id: res.body.datasetId as string, name: col('Name'), city: col('City') };
}
async function addColumn(ds: string, body: unknown) {
  const res = await app.post(`/api/v2/datasets/${ds}/columns`, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.columnId as string;
}
const grid = async (id: string) => (await app.get(`/api/v2/datasets/${id}/data?includeMetadata=true`)).body;
const cellOf = (g: any, row: number, columnId: string) => g.data[row][g.columns.findIndex((c: any) => c.columnId === columnId)];

describe('bulk tasks', () => {
  it('estimates cells, calls, cache hits and cost without running anything', async () => {
    const ds = await dataset();
    // A prompt of its own: the cache is per workspace, and other tests of this app share it.
    const bio = await addColumn(ds.id, { name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'Estimate {{Name}} from {{City}}' } });
    const before = fake.count;
    const est = await app.post(`/api/v2/datasets/${ds.id}/tasks/estimate`, {});
    assert.equal(est.status, 200, JSON.stringify(est.body));
    assert.equal(est.body.cells, 2);
    assert.equal(est.body.llmCalls, 2);
    assert.equal(est.body.expectedCacheHits, 0);
    assert.ok(est.body.costUsd > 0 && est.body.inputTokens > 0);
    assert.equal(fake.count, before, 'no LLM call was made');
    assert.equal((await app.get(`/api/v2/datasets/${ds.id}/tasks`)).body.pagination.total, 0, 'no task was recorded');
    const detail = (await app.get(`/api/v2/datasets/${ds.id}`)).body;
    assert.equal(detail.activeTaskId, null);
    assert.equal(cellOf(await grid(ds.id), 0, bio).status, 'empty');
    const run = (await app.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, {})).body;
    await waitForTask(app, ds.id, run.taskId);
    const again = await app.post(`/api/v2/datasets/${ds.id}/tasks/estimate`, { columnIds: [bio] });
    assert.deepEqual([again.body.cells, again.body.llmCalls, again.body.expectedCacheHits, again.body.costUsd], [2, 0, 2, 0]);
    expectError(await app.post(`/api/v2/datasets/${ds.id}/tasks/estimate`, { columnIds: ['col_nope'] }), 404, 'COLUMN_NOT_FOUND');
  });

  it('PUT task-type with "run": true resets the column and starts a task over it', async () => {
    const ds = await dataset();
    const res = await app.put(`/api/v2/datasets/${ds.id}/columns/${ds.city}/task-type`, { taskType: 'ai_enrich', metadata: { prompt: 'Where does {{Name}} live?' }, run: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.taskType, 'ai_enrich');
    assert.match(res.body.taskId, /^task_/);
    const task = await waitForTask(app, ds.id, res.body.taskId);
    assert.deepEqual(task.progress, { total: 2, completed: 2, failed: 0, skipped: 0 });
    const g = await grid(ds.id);
    assert.deepEqual([cellOf(g, 0, ds.city).value, cellOf(g, 1, ds.city).value], [sha('Where does Ada live?'), sha('Where does Alan live?')]);
  });

  it('fills ai_enrich and classification columns with values, confidence, model, usage and cost', async () => {
    const ds = await dataset();
    const bio = await addColumn(ds.id, { name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'Write about {{Name}} from {{City}}' } });
    const kind = await addColumn(ds.id, { name: 'Famous', taskType: 'classification', metadata: { confidence: 0.995 } });
    const res = await app.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, {});
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.progress.total, 4);
    assert.match(res.body.taskId, /^task_/);
    const task = await waitForTask(app, ds.id, res.body.taskId);
    assert.equal(task.status, 'completed', JSON.stringify(task));
    assert.deepEqual(task.progress, { total: 4, completed: 4, failed: 0, skipped: 0 });
    assert.equal(task.usage.llmCalls, 4);
    assert.ok(task.usage.inputTokens > 0 && task.usage.costUsd > 0);
    const g = await grid(ds.id);
    const b0 = cellOf(g, 0, bio);
    assert.equal(b0.status, 'done');
    assert.equal(b0.value, sha('Write about Ada from London'));
    assert.equal(cellOf(g, 1, bio).value, sha('Write about Alan from Wilmslow'));
    assert.equal(b0.metadata.model, 'openai:gpt-4o-mini');
    assert.equal(b0.metadata.cached, false);
    assert.equal(b0.metadata.taskId, task.taskId);
    assert.equal(b0.metadata.attempts, 1);
    assert.ok(b0.metadata.costUsd > 0 && b0.metadata.usage.inputTokens > 0);
    const k0 = cellOf(g, 0, kind);
    assert.equal(k0.value, 'yes');
    assert.equal(k0.metadata.confidence, Math.round(Math.exp(-0.01) * 1e4) / 1e4);
    assert.equal(k0.metadata.needsReview, true); // 0.99 < threshold 0.995
    const dsBody = (await app.get(`/api/v2/datasets/${ds.id}`)).body;
    assert.equal(dsBody.status, 'completed');
    assert.equal(dsBody.activeTaskId, null);
  });

  it('runs a cell after the cells it reads in its row', async () => {
    const ds = await dataset();
    await addColumn(ds.id, { name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'Bio of {{Name}}' } });
    const sum = await addColumn(ds.id, { name: 'Summary', taskType: 'ai_enrich', metadata: { prompt: 'Summarise: {{Bio}}' } });
    fake.reset();
    const res = await app.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, {});
    await waitForTask(app, ds.id, res.body.taskId);
    const userText = (r: RecordedRequest) => String(r.body.messages?.find((m) => m.role === 'user')?.content);
    const summaries = fake.requests.filter((r) => userText(r).startsWith('Summarise'));
    assert.deepEqual(summaries.map(userText).sort(), [`Summarise: ${sha('Bio of Ada')}`, `Summarise: ${sha('Bio of Alan')}`].sort());
    assert.equal(cellOf(await grid(ds.id), 0, sum).value, sha(`Summarise: ${sha('Bio of Ada')}`));
  });

  it('targets cells, rows, columns and rows x columns; unknown ids and raw columns are refused', async () => {
    const ds = await dataset([{ Name: 'A' }, { Name: 'B' }, { Name: 'C' }]);
    const x = await addColumn(ds.id, { name: 'X', taskType: 'ai_enrich', metadata: { prompt: 'x {{Name}}' } });
    const y = await addColumn(ds.id, { name: 'Y', taskType: 'ai_enrich', metadata: { prompt: 'y {{Name}}' } });
    const g = await grid(ds.id);
    const rows: string[] = g.rowIds;
    const run = async (body: unknown) => {
      const res = await app.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, body);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return (await waitForTask(app, ds.id, res.body.taskId)).progress.total;
    };
    assert.equal(await run({ cellIds: [cellOf(g, 0, x).cellId] }), 1);
    // processOnlyEmpty skips X of row 0, which has a value now.
    assert.equal(await run({ columnIds: [x], processOnlyEmpty: true }), 2);
    assert.equal(await run({ rowIds: [rows[1]] }), 2);
    assert.equal(await run({ columnIds: [y] }), 3);
    assert.equal(await run({ rowIds: [rows[0], rows[2]], columnIds: [x] }), 2);
    assert.equal(await run({ columnIds: [x, y], processOnlyEmpty: true }), 0);
    const post = (body: unknown) => app.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, body);
    expectError(await post({ cellIds: ['cell_nope'] }), 404, 'CELL_NOT_FOUND');
    const missingRow = await post({ rowIds: [rows[0], 'row_0000000000000000'] });
    expectError(missingRow, 404, 'ROW_NOT_FOUND');
    assert.deepEqual(missingRow.body.details, { rowId: 'row_0000000000000000' });
    expectError(await post({ columnIds: ['col_nope'] }), 404, 'COLUMN_NOT_FOUND');
    expectError(await post({ columnIds: [ds.name] }), 400, 'INVALID_PARAMETERS');
    expectError(await post({ cellIds: [cellOf(g, 0, ds.name).cellId] }), 400, 'INVALID_PARAMETERS');
    expectError(await post({ rowIds: [] }), 400, 'INVALID_PARAMETERS');
    expectError(await post({ rowIds: Array.from({ length: 10_001 }, (_, i) => `row_${i}`) }), 400, 'INVALID_PARAMETERS');
    expectError(await post({ cellIds: [cellOf(g, 0, x).cellId], rowIds: [rows[0]] }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/ds_nope/tasks/bulk`, {}), 404, 'DATASET_NOT_FOUND');
    // Every computed cell is done now: the no-target form has nothing to do and completes at once.
    const none = await post({});
    assert.equal(none.status, 202);
    assert.equal(none.body.status, 'completed');
    assert.equal(none.body.progress.total, 0);
  });

  it('locks the dataset while processing; cancel keeps finished cells and restores the rest', async () => {
    const ds = await dataset([{ Name: 'fast' }, { Name: 'slow1' }, { Name: 'slow2' }, { Name: 'slow3' }]);
    const col = await addColumn(ds.id, { name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Do {{Name}}' } });
    const isSlow = (r: RecordedRequest) => JSON.stringify(r.body.messages).includes('Do slow');
    // The slow calls never answer by themselves: only the client closing them ends them.
    script = (r) => (isSlow(r) ? { kind: 'hang' } : undefined);
    try {
      const res = await app.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, {});
      const taskId = res.body.taskId;
      expectError(await app.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, {}), 409, 'PROCESSING_IN_PROGRESS');
      expectError(await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'Z', taskType: 'raw' }), 409, 'PROCESSING_IN_PROGRESS');
      expectError(await app.del(`/api/v2/datasets/${ds.id}`), 409, 'PROCESSING_IN_PROGRESS');
      const deadline = Date.now() + 10_000;
      while (cellOf(await grid(ds.id), 0, col).status !== 'done') {
        assert.ok(Date.now() < deadline, 'the fast cell never finished');
        await new Promise((r) => setTimeout(r, 20));
      }
      const started = Date.now();
      const cancelled = await app.post(`/api/v2/datasets/${ds.id}/tasks/${taskId}/cancel`);
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.equal(cancelled.body.status, 'cancelled');
      assert.deepEqual(cancelled.body.progress, { total: 4, completed: 1, failed: 0, skipped: 3 });
      assert.ok(Date.now() - started < 2000, 'cancel must not wait for calls in flight');
      const g = await grid(ds.id);
      assert.equal(cellOf(g, 0, col).value, sha('Do fast'));
      assert.deepEqual([1, 2, 3].map((i) => cellOf(g, i, col).status), ['empty', 'empty', 'empty']);
      expectError(await app.post(`/api/v2/datasets/${ds.id}/tasks/${taskId}/cancel`), 409, 'TASK_NOT_CANCELLABLE');
      expectError(await app.del(`/api/v2/datasets/${ds.id}/tasks/${taskId}`), 409, 'TASK_NOT_CANCELLABLE');
      expectError(await app.post(`/api/v2/datasets/${ds.id}/tasks/task_nope/cancel`), 404, 'TASK_NOT_FOUND');
      // The calls in flight are aborted: the fake sees each slow request closed by the client, and
      // the cells stay as the cancel restored them.
      while (fake.requests.some((r) => isSlow(r) && r.open)) {
        assert.ok(Date.now() - started < 10_000, 'the slow calls were not aborted');
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(fake.requests.filter(isSlow).length >= 1);
      const restored = await grid(ds.id);
      assert.deepEqual([1, 2, 3].map((i) => [cellOf(restored, i, col).status, cellOf(restored, i, col).value]), [['empty', null], ['empty', null], ['empty', null]]);
      // Unlocked: changes work again.
      assert.equal((await app.post(`/api/v2/datasets/${ds.id}/columns`, { name: 'Z', taskType: 'raw' })).status, 201);
      const list = await app.get(`/api/v2/datasets/${ds.id}/tasks`);
      assert.equal(list.body.tasks[0].taskId, taskId);
      assert.equal(list.body.pagination.total, 1);
    } finally {
      script = undefined;
    }
  });

  it('DELETE ?force=true cancels the running task and deletes the dataset', async () => {
    const ds = await dataset([{ Name: 'slow1' }]);
    await addColumn(ds.id, { name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Do {{Name}}' } });
    script = () => ({ kind: 'text', text: 'late', delayMs: 10_000 });
    try {
      const res = await app.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, {});
      assert.equal(res.status, 202);
      const del = await app.del(`/api/v2/datasets/${ds.id}?force=true`);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      expectError(await app.get(`/api/v2/datasets/${ds.id}/tasks/${res.body.taskId}`), 404, 'DATASET_NOT_FOUND');
    } finally {
      script = undefined;
    }
  });

  it('TASK_NOT_CANCELLABLE after completion', async () => {
    const ds = await dataset([{ Name: 'one' }]);
    await addColumn(ds.id, { name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Do {{Name}}' } });
    const res = await app.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, {});
    await waitForTask(app, ds.id, res.body.taskId);
    expectError(await app.post(`/api/v2/datasets/${ds.id}/tasks/${res.body.taskId}/cancel`), 409, 'TASK_NOT_CANCELLABLE');
  });
});
