import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from './fakes/openai-server.ts';
import { waitForTask } from './helpers/tasks.ts';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';

let app: TestApp;
let fake: FakeLlmServer;
/** How the fake writes a batch of rows; undefined = fresh rows numbered by batch. */
let rowsFor: ((count: number, batch: number, req: RecordedRequest) => FakeReply) | undefined;

const userText = (req: RecordedRequest) => String(req.body.messages?.at(-1)?.content ?? '');
const isGeneration = (req: RecordedRequest) => (req.body.response_format as { json_schema?: { name?: string } } | undefined)?.json_schema?.name === 'new_rows';

before(async () => {
  fake = await startFakeOpenAI({
    latencyMs: 5,
    respond: (req) => {
      if (!isGeneration(req)) return undefined;
      const count = Number(/Write (\d+) new rows/.exec(userText(req))?.[1]);
      const batch = Number(/Batch (\d+) of/.exec(userText(req))?.[1]);
      if (rowsFor) return rowsFor(count, batch, req);
      return { kind: 'json', value: { rows: Array.from({ length: count }, (_, i) => ({ Name: `Person ${batch}-${i}`, City: `City ${batch}-${i}`, Age: 20 + i })) } };
    },
  });
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', llmMaxAttempts: 2 });
});
after(async () => {
  await app.close();
  await fake.close();
});

async function dataset(name = 'People') {
  const res = await app.post('/api/v2/datasets', { name, type: 'analysis', rows: [{ Name: 'Ada', City: 'London', Age: 36 }, { Name: 'Alan', City: 'Wilmslow', Age: 41 }] });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.datasetId as string;
}

async function allRows(id: string) {
  const g = (await app.get(`/api/v2/datasets/${id}/data?limit=1000&includeMetadata=true`)).body;
  const names = g.columns.map((c: { name: string }) => c.name) as string[];
  return (g.data as { value: unknown; status: string }[][]).map((cells) => Object.fromEntries(cells.map((cell, i) => [names[i], cell])));
}

describe('new-rows tasks', () => {
  it('writes rows from the raw columns and examples in batches, then fills their computed cells', async () => {
    const id = await dataset();
    const bio = await app.post(`/api/v2/datasets/${id}/columns`, { name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'Write a bio of {{Name}} from {{City}}' } });
    assert.equal(bio.status, 201);
    const before = fake.requests.length;
    const res = await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 60 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.type, 'new-rows');
    expectError(await app.post(`/api/v2/datasets/${id}/rows`, { rows: [{ Name: 'X' }] }), 409, 'PROCESSING_IN_PROGRESS');
    const task = await waitForTask(app, id, res.body.taskId, undefined, 60_000);
    assert.equal(task.status, 'completed', JSON.stringify(task));
    assert.equal(task.error, null);
    // 3 batches (25 + 25 + 10 rows) and one Bio cell per new row.
    assert.deepEqual(task.progress, { total: 63, completed: 63, failed: 0, skipped: 0 });
    const calls = fake.requests.slice(before);
    const generation = calls.filter(isGeneration);
    assert.equal(generation.length, 3);
    assert.deepEqual(generation.map((r) => Number(/Write (\d+) new rows/.exec(userText(r))?.[1])).sort((a, b) => a - b), [10, 25, 25]);
    // The examples and the raw columns are what the model is shown; the schema types Age as an integer.
    assert.match(userText(generation[0]!), /"Name":"Ada","City":"London","Age":36/);
    const schema = (generation[0]!.body.response_format as { json_schema: { schema: { properties: { rows: { items: { properties: Record<string, { type: string[] }> } } } } } }).json_schema.schema;
    assert.deepEqual(schema.properties.rows.items.properties.Age!.type, ['integer', 'null']);
    assert.equal(calls.length, 63);
    assert.equal(task.usage.llmCalls, 63);

    const detail = (await app.get(`/api/v2/datasets/${id}`)).body;
    assert.equal(detail.rowCount, 62);
    assert.equal(detail.status, 'completed');
    assert.equal(detail.activeTaskId, null);
    const rows = await allRows(id);
    assert.equal(rows[0]!.Name!.value, 'Ada');
    const added = rows.slice(2);
    assert.equal(new Set(added.map((r) => r.Name!.value)).size, 60);
    for (const r of added) {
      assert.match(String(r.Name!.value), /^Person \d-\d+$/);
      assert.equal(typeof r.Age!.value, 'number');
      assert.equal(r.Bio!.status, 'done');
      assert.match(String(r.Bio!.value), /^fake answer /);
    }
  });

  it('drops rows that repeat an example, each other or are empty', async () => {
    const id = await dataset('Dupes');
    rowsFor = () => ({ kind: 'json', value: { rows: [{ Name: 'Ada', City: 'London', Age: 36 }, { Name: 'Grace', City: 'New York', Age: 85 }, { Name: 'Grace', City: 'New York', Age: 85 }, { Name: null, City: null, Age: null }] } });
    try {
      const res = await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 4 });
      const task = await waitForTask(app, id, res.body.taskId);
      assert.equal(task.status, 'completed', JSON.stringify(task));
      const rows = await allRows(id);
      assert.equal(rows.length, 3);
      assert.deepEqual([rows[2]!.Name!.value, rows[2]!.City!.value, rows[2]!.Age!.value], ['Grace', 'New York', 85]);
    } finally {
      rowsFor = undefined;
    }
  });

  it('asks again for the shortfall when the model writes fewer rows than asked; the task shows requested and added', async () => {
    const id = await dataset('Short');
    let n = 0;
    // One new row per answer, whatever the count asked.
    rowsFor = () => ({ kind: 'json', value: { rows: [{ Name: `One ${n}`, City: `Town ${n}`, Age: 30 + n++ }] } });
    try {
      const res = await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 3 });
      const task = await waitForTask(app, id, res.body.taskId);
      assert.equal(task.status, 'completed');
      assert.equal(task.error, null);
      assert.equal(task.requested, 3);
      assert.equal(task.added, 3);
      assert.equal((await allRows(id)).length, 5);
    } finally {
      rowsFor = undefined;
    }
  });

  it('ends with an error saying how many rows were added of how many when the model still falls short', async () => {
    const id = await dataset('StillShort');
    rowsFor = () => ({ kind: 'json', value: { rows: [{ Name: 'Only', City: 'One', Age: 1 }] } });
    try {
      const before = fake.requests.filter(isGeneration).length;
      const res = await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 5 });
      const task = await waitForTask(app, id, res.body.taskId);
      assert.equal(task.requested, 5);
      assert.equal(task.added, 1);
      assert.match(task.error, /Added 1 of 5 requested rows/);
      assert.equal((await allRows(id)).length, 3);
      // Bounded: the first request and at most SHORTFALL_ROUNDS more (the repeat row ends it at once).
      const asked = fake.requests.filter(isGeneration).length - before;
      assert.ok(asked >= 2 && asked <= 4, `asked ${asked} times`);
    } finally {
      rowsFor = undefined;
    }
  });

  it('fails the task with a reason when the model cannot write rows, and adds none', async () => {
    const id = await dataset('Broken');
    rowsFor = () => ({ kind: 'error', status: 400, message: 'this model does not do JSON' });
    try {
      const res = await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 30 });
      const task = await waitForTask(app, id, res.body.taskId);
      assert.equal(task.status, 'failed');
      assert.match(task.error, /could not be generated/);
      assert.deepEqual(task.progress, { total: 2, completed: 0, failed: 2, skipped: 0 });
      assert.equal(task.usage.costUsd, 0);
      assert.equal((await app.get(`/api/v2/datasets/${id}`)).body.rowCount, 2);
    } finally {
      rowsFor = undefined;
    }
  });

  it('can be cancelled: batches not yet written add no rows', async () => {
    const id = await dataset('Cancelled');
    // The batches' calls hang until the client gives up: any row written after the cancel would
    // come from a call the cancel failed to abort, or from a batch claimed after it.
    rowsFor = () => ({ kind: 'hang' });
    const ofTask = (r: RecordedRequest) => isGeneration(r) && /Batch \d+ of 80\b/.test(userText(r));
    try {
      const res = await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 2000 });
      const deadline = Date.now() + 10_000;
      while (!fake.requests.some(ofTask)) {
        assert.ok(Date.now() < deadline, 'no batch was ever asked for');
        await new Promise((r) => setTimeout(r, 10));
      }
      const cancel = await app.post(`/api/v2/datasets/${id}/tasks/${res.body.taskId}/cancel`, {});
      assert.equal(cancel.status, 200);
      assert.equal(cancel.body.status, 'cancelled');
      const askedBeforeCancel = fake.requests.filter(ofTask).length;
      const after = (await app.get(`/api/v2/datasets/${id}`)).body;
      assert.equal(after.activeTaskId, null);
      assert.equal(after.rowCount, 2, 'no batch had been answered');
      // The calls in flight are aborted: the fake sees each connection closed by the client.
      while (fake.requests.some((r) => ofTask(r) && r.open)) {
        assert.ok(Date.now() < deadline, 'the cancelled batches\' calls were not aborted');
        await new Promise((r) => setTimeout(r, 10));
      }
      // Answers come at once now. A later task on the dataset is claimed after anything the cancel
      // left claimable (claims go by due time), so once it completes nothing of the first is pending.
      rowsFor = undefined;
      const next = await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 1 });
      assert.equal(next.status, 202, JSON.stringify(next.body));
      assert.equal((await waitForTask(app, id, next.body.taskId)).status, 'completed');
      assert.equal(fake.requests.filter(ofTask).length, askedBeforeCancel, 'no batch of the cancelled task was asked for after the cancel');
      assert.equal((await app.get(`/api/v2/datasets/${id}`)).body.rowCount, 3);
      assert.equal((await allRows(id)).length, 3);
    } finally {
      rowsFor = undefined;
    }
  });

  it('on an extraction dataset adds a row per linked document no row holds, then fills its computed cells', async () => {
    const files = ['a.txt', 'b.txt', 'c.txt'].map((name) => ({ field: 'files[]', name, content: `Text of ${name}` }));
    const up = await app.upload('/api/v2/datasets/upload', files, { name: 'Docs' });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const id = up.body.datasetId as string;
    const title = await app.post(`/api/v2/datasets/${id}/columns`, { name: 'Title', taskType: 'ai_enrich', metadata: { prompt: 'Title of {{document}}' } });
    assert.equal(title.status, 201, JSON.stringify(title.body));
    const first = (await app.get(`/api/v2/datasets/${id}/data`)).body.rowIds[0];
    assert.equal((await app.del(`/api/v2/datasets/${id}/rows`, { rowIds: [first] })).status, 200);
    const before = fake.requests.length;
    const res = await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 5 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const task = await waitForTask(app, id, res.body.taskId);
    assert.equal(task.status, 'completed');
    assert.deepEqual(task.progress, { total: 1, completed: 1, failed: 0, skipped: 0 });
    // Counted by content: calls of earlier tests' tasks (a cancelled one) may still arrive meanwhile.
    const mine = fake.requests.slice(before);
    assert.equal(mine.filter((r) => isGeneration(r) && userText(r).includes('Table: Docs')).length, 0, 'no LLM writes rows for documents');
    assert.equal(mine.filter((r) => userText(r).startsWith('Title of')).length, 1, 'one Title call');
    const rows = await allRows(id);
    assert.equal(rows.length, 3);
    const added = rows[2]!;
    assert.equal((added.document!.value as { fileName: string }).fileName, 'a.txt');
    assert.equal(added.Title!.status, 'done');
    // Nothing left to add: the task completes at once.
    const again = await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 5 });
    assert.equal(again.body.status, 'completed');
    assert.equal(again.body.progress.total, 0);
  });

  it('refuses bad bodies, unknown webhooks, datasets without raw columns and locked datasets', async () => {
    const id = await dataset('Invalid');
    expectError(await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, {}), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 0 }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 10_001 }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 5, extra: true }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 5, webhookId: 'whk_nope' }), 404, 'WEBHOOK_NOT_FOUND');
    expectError(await app.post(`/api/v2/datasets/ds_nope/tasks/new-rows`, { rowCount: 5 }), 404, 'DATASET_NOT_FOUND');
    const empty = await app.post('/api/v2/datasets', { name: 'No raw', type: 'analysis', columns: [{ name: 'Idea', taskType: 'ai_enrich', metadata: { prompt: 'An idea' } }] });
    assert.equal(empty.status, 201, JSON.stringify(empty.body));
    expectError(await app.post(`/api/v2/datasets/${empty.body.datasetId}/tasks/new-rows`, { rowCount: 5 }), 400, 'INVALID_PARAMETERS');
    rowsFor = (count) => ({ kind: 'json', value: { rows: Array.from({ length: count }, (_, i) => ({ Name: `L ${i}`, City: 'x', Age: 1 })) }, delayMs: 200 });
    try {
      const first = await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 5 });
      assert.equal(first.status, 202);
      expectError(await app.post(`/api/v2/datasets/${id}/tasks/new-rows`, { rowCount: 5 }), 409, 'PROCESSING_IN_PROGRESS');
      await waitForTask(app, id, first.body.taskId);
    } finally {
      rowsFor = undefined;
    }
  });
});
