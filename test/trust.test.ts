import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeAnthropic } from './fakes/anthropic-server.ts';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from './fakes/openai-server.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { waitForTask } from './helpers/tasks.ts';

/** Issue 12: the row as context, one paid call per distinct question, confidence, lineage, honest usage. */
let app: TestApp;
let fake: FakeLlmServer;
let anthropic: FakeLlmServer;
let script: ((req: RecordedRequest) => FakeReply | undefined) | undefined;
before(async () => {
  fake = await startFakeOpenAI({ latencyMs: 40, respond: (r) => script?.(r) });
  anthropic = await startFakeAnthropic({ latencyMs: 5 });
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl, anthropicBaseUrl: anthropic.baseUrl, anthropicApiKey: 'test', model: 'openai:gpt-4o-mini', llmMaxAttempts: 1 });
});
after(async () => {
  await app.close();
  await fake.close();
  await anthropic.close();
});

const userText = (r: RecordedRequest) => String(r.body.messages?.find((m) => m.role === 'user')?.content);

async function dataset(rows: Record<string, unknown>[], columns: { name: string; taskType: string; metadata?: Record<string, unknown> }[]) {
  const res = await app.post('/api/v2/datasets', { name: 'Trust', type: 'analysis', rows });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const ids: Record<string, string> = {};
  for (const c of res.body.columns) ids[c.name] = c.columnId;
  for (const c of columns) {
    const col = await app.post(`/api/v2/datasets/${res.body.datasetId}/columns`, c);
    assert.equal(col.status, 201, JSON.stringify(col.body));
    ids[c.name] = col.body.columnId;
  }
  return { id: res.body.datasetId as string, ids };
}
async function run(id: string, body: unknown = {}) {
  const res = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return waitForTask(app, id, res.body.taskId, undefined, 30_000);
}
async function column(id: string, columnId: string | undefined) {
  const g = (await app.get(`/api/v2/datasets/${id}/data?includeMetadata=true`)).body;
  const k = g.columns.findIndex((c: any) => c.columnId === columnId);
  return g.data.map((r: any[]) => r[k]);
}

describe('the row as context', () => {
  it('a prompt without references sends the row, each value labelled, long values cut; estimates build the same requests', async () => {
    const long = 'y'.repeat(1500);
    const ds = await dataset(
      [
        { Name: 'Kettle', Category: 'Kitchen', Notes: long },
        { Name: 'Drill', Category: 'Tools', Notes: null },
      ],
      [{ name: 'Description', taskType: 'ai_enrich', metadata: { prompt: 'Generate a detailed product description based on the product name and category' } }],
    );
    const estimate = await app.post(`/api/v2/datasets/${ds.id}/tasks/estimate`, {});
    fake.reset();
    const task = await run(ds.id);
    assert.equal(task.status, 'completed');
    const sent = fake.requests.map(userText).sort();
    assert.equal(sent.length, 2);
    assert.equal(new Set(sent).size, 2, 'each row asks its own question');
    const kettle = sent.find((t) => t.includes('Kettle'))!;
    assert.match(kettle, /\n\nRow:\nName: Kettle\nCategory: Kitchen\nNotes: y{1000}…$/);
    assert.match(sent.find((t) => t.includes('Drill'))!, /Row:\nName: Drill\nCategory: Tools$/);
    assert.equal(estimate.body.llmCalls, 2);
    assert.equal(estimate.body.expectedCacheHits, 0);
  });

  it('with references only those values go, unless includeRow', async () => {
    const ds = await dataset([{ Name: 'Kettle', Category: 'Kitchen' }], [
      { name: 'Only', taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Name}}' } },
      { name: 'All', taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Name}}', includeRow: true } },
    ]);
    fake.reset();
    await run(ds.id, { columnIds: [ds.ids.Only] });
    assert.equal(userText(fake.requests[0]!), 'Describe Kettle');
    fake.reset();
    await run(ds.id, { columnIds: [ds.ids.All] });
    assert.match(userText(fake.requests[0]!), /^Describe Kettle\n\nRow:\nName: Kettle\nCategory: Kitchen\nOnly: fake answer/);
  });

  it('a row-reading column runs after the computed cells it reads, lists them as inputs, and goes stale when they change', async () => {
    const ds = await dataset([{ Name: 'Kettle' }], [
      { name: 'Summary', taskType: 'ai_enrich', metadata: { prompt: 'Summarise {{Name}}' } },
      { name: 'Label', taskType: 'classification', metadata: { categories: ['home', 'work'] } },
      { name: 'Pitch', taskType: 'ai_enrich', metadata: { prompt: 'Write a pitch' } },
    ]);
    fake.reset();
    const task = await run(ds.id);
    assert.equal(task.status, 'completed');
    const pitch = fake.requests.find((r) => userText(r).startsWith('Write a pitch'))!;
    const summary = (await column(ds.id, ds.ids.Summary))[0];
    const label = (await column(ds.id, ds.ids.Label))[0];
    // The later row reader reads the earlier one (Label); Label never reads Pitch: no cycle.
    assert.ok(userText(pitch).includes(`Summary: ${summary.value}`), userText(pitch));
    assert.ok(userText(pitch).includes(`Label: ${label.value}`), userText(pitch));
    const classify = fake.requests.find((r) => userText(r).includes('Classify'))!;
    assert.ok(!userText(classify).includes('Pitch'), 'a column never reads a column that reads it');
    const cell = (await column(ds.id, ds.ids.Pitch))[0];
    assert.deepEqual(
      cell.metadata.inputs.map((i: any) => i.columnId),
      [ds.ids.Name, ds.ids.Summary, ds.ids.Label],
    );
    assert.equal(cell.metadata.inputs[1].cellId, summary.cellId);
    const edit = await app.patch(`/api/v2/datasets/${ds.id}/cells/${summary.cellId}`, { value: 'changed by hand' });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    assert.equal((await column(ds.id, ds.ids.Pitch))[0].status, 'stale');
  });
});

describe('one paid call per distinct question', () => {
  it('identical requests in flight are coalesced: estimate, run and the LLM server agree; cached answers name the task that paid', async () => {
    const names = ['a', 'b', 'a', 'a', 'c', 'b', 'a', 'c'];
    const ds = await dataset(names.map((Name) => ({ Name })), [{ name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Coalesce {{Name}}' } }]);
    const estimate = await app.post(`/api/v2/datasets/${ds.id}/tasks/estimate`, {});
    assert.equal(estimate.status, 200, JSON.stringify(estimate.body));
    fake.reset();
    const task = await run(ds.id);
    assert.equal(fake.count, 3, 'the LLM server received one request per distinct question');
    assert.equal(task.usage.llmCalls, 3);
    assert.equal(task.usage.cachedCalls, 5);
    assert.equal(estimate.body.llmCalls, task.usage.llmCalls);
    assert.equal(estimate.body.expectedCacheHits, task.usage.cachedCalls);
    const cells = await column(ds.id, ds.ids.Out);
    assert.ok(cells.every((c: any) => c.status === 'done'));
    const cached = cells.filter((c: any) => c.metadata.cached);
    assert.equal(cached.length, 5);
    assert.ok(cached.every((c: any) => c.metadata.cachedFrom === task.taskId && c.metadata.costUsd === 0));
    // Asked again in a later task: answered by the cache, still naming the task that paid.
    const again = await run(ds.id, { columnIds: [ds.ids.Out] });
    assert.equal(again.usage.llmCalls, 0);
    assert.ok((await column(ds.id, ds.ids.Out)).every((c: any) => c.metadata.cachedFrom === task.taskId));
  });
});

describe('confidence on every computed cell', () => {
  it('logprobs: the geometric mean of the answer tokens, with needsReview under the threshold', async () => {
    // The answer comes as {value, confidence}: only the tokens spelling the value count.
    const unsure: FakeReply = { kind: 'text', text: '{"value":"maybe so","confidence":0.95}', logprobs: [{ token: '{"value":"', logprob: Math.log(0.1) }, { token: 'maybe', logprob: Math.log(0.5) }, { token: ' so', logprob: Math.log(0.8) }, { token: '","confidence":0.95}', logprob: Math.log(0.1) }] };
    script = (r) => (userText(r) === 'Say unsure' ? unsure : undefined);
    try {
      const ds = await dataset([{ Name: 'sure' }, { Name: 'unsure' }], [
        { name: 'Text', taskType: 'ai_enrich', metadata: { prompt: 'Say {{Name}}', confidence: 0.7 } },
        { name: 'Json', taskType: 'ai_enrich', metadata: { prompt: 'Json {{Name}}', outputSchema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } } },
      ]);
      await run(ds.id);
      const text = await column(ds.id, ds.ids.Text);
      assert.equal(text[0].metadata.confidenceSource, 'logprobs');
      assert.equal(text[0].metadata.confidence, Math.round(Math.exp(-0.01) * 1e4) / 1e4);
      assert.equal(text[0].metadata.needsReview, undefined);
      assert.equal(text[1].metadata.confidence, Math.round(Math.sqrt(0.5 * 0.8) * 1e4) / 1e4);
      assert.equal(text[1].metadata.needsReview, true);
      const json = await column(ds.id, ds.ids.Json);
      assert.ok(json.every((c: any) => c.metadata.confidenceSource === 'logprobs' && c.metadata.confidence < 1 && c.metadata.confidence > 0), JSON.stringify(json[0].metadata));
    } finally {
      script = undefined;
    }
  });

  it('self_reported where the provider gives no logprobs: asked in the same call, never a second one', async () => {
    const ds = await dataset([{ Name: 'Kettle' }], [{ name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Name}}', model: 'anthropic:claude-3-5-haiku-latest', confidence: 0.5 } }]);
    anthropic.reset();
    await run(ds.id);
    assert.equal(anthropic.count, 1);
    const [cell] = await column(ds.id, ds.ids.Out);
    assert.equal(cell.status, 'done');
    assert.equal(cell.metadata.confidenceSource, 'self_reported');
    assert.equal(typeof cell.metadata.confidence, 'number');
    assert.equal(typeof cell.value, 'string');
  });

  it('an OpenAI-compatible server that ignores the logprobs request: self_reported from the same call, every cell, one request each', async () => {
    fake.omitLogprobs = true;
    try {
      const ds = await dataset([{ Name: 'Kettle' }, { Name: 'Drill' }], [
        { name: 'Text', taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Name}}', confidence: 0.95 } },
        { name: 'Json', taskType: 'ai_enrich', metadata: { prompt: 'Json {{Name}}', outputSchema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } } },
        { name: 'Kind', taskType: 'classification', metadata: { prompt: 'Kind of {{Name}}', categories: ['home', 'work'] } },
      ]);
      fake.reset();
      const task = await run(ds.id);
      assert.equal(fake.count, 6, 'one request per cell, never a second one to ask for a rating');
      assert.equal(task.usage.llmCalls, 6);
      // Log-probabilities were asked for, and the rating too, in the same request.
      const asked = fake.requests.filter((r) => userText(r).startsWith('Describe'));
      assert.ok(asked.every((r) => r.body.logprobs === true && (r.body.response_format as any)?.json_schema?.schema?.properties?.confidence));
      const text = await column(ds.id, ds.ids.Text);
      assert.ok(text.every((c: any) => c.status === 'done' && /^fake answer /.test(c.value)), JSON.stringify(text[0]));
      for (const name of ['Text', 'Json', 'Kind'] as const) {
        for (const c of await column(ds.id, ds.ids[name])) {
          assert.equal(c.metadata.confidenceSource, 'self_reported', `${name}: ${JSON.stringify(c.metadata)}`);
          assert.equal(c.metadata.confidence, name === 'Kind' ? 1 : 0.9);
        }
      }
      assert.ok(text.every((c: any) => c.metadata.needsReview === true), 'the threshold applies to a self-reported rating too');
      assert.deepEqual((await column(ds.id, ds.ids.Json)).map((c: any) => c.value), [{ a: 'x' }, { a: 'x' }]);
    } finally {
      fake.omitLogprobs = false;
    }
  });

  it('classification reports self_reported (not "model") when no logprobs come back', async () => {
    const ds = await dataset([{ Name: 'Kettle' }], [{ name: 'Kind', taskType: 'classification', metadata: { categories: ['home', 'work'], model: 'anthropic:claude-3-5-haiku-latest' } }]);
    await run(ds.id);
    const [cell] = await column(ds.id, ds.ids.Kind);
    assert.equal(cell.metadata.confidenceSource, 'self_reported');
  });
});

describe('usage counts what was spent', () => {
  it('a structured answer re-asked counts both requests, also when the cell ends in error', async () => {
    const lastUser = (r: RecordedRequest) => String(r.body.messages?.at(-1)?.content);
    script = (r) => {
      if (!userText(r).startsWith('Reask')) return undefined;
      if (userText(r).includes('never') || !lastUser(r).includes('previous answer was invalid')) return { kind: 'text', text: 'not json at all' };
      return undefined;
    };
    try {
      const ds = await dataset([{ Name: 'once' }, { Name: 'never' }], [{ name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Reask {{Name}}', outputSchema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } } }]);
      fake.reset();
      const task = await run(ds.id);
      const cells = await column(ds.id, ds.ids.Out);
      assert.deepEqual(
        cells.map((c: any) => c.status),
        ['done', 'error'],
      );
      assert.equal(fake.count, 4);
      assert.equal(task.usage.llmCalls, fake.count);
      assert.ok(task.usage.outputTokens > 0);
    } finally {
      script = undefined;
    }
  });

  it('on cancel, calls whose answers are discarded still count: usage.llmCalls equals what the provider received', async () => {
    script = () => ({ kind: 'text', text: 'slow', delayMs: 400 });
    try {
      const ds = await dataset(Array.from({ length: 30 }, (_, i) => ({ Name: `n${i}` })), [{ name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Slow {{Name}}' } }]);
      fake.reset();
      const started = await app.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, {});
      const deadline = Date.now() + 10_000;
      while (fake.count < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const cancelled = await app.post(`/api/v2/datasets/${ds.id}/tasks/${started.body.taskId}/cancel`);
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      // The aborted calls are charged as they unwind: wait for the figures to settle.
      let task: any;
      for (;;) {
        task = (await app.get(`/api/v2/datasets/${ds.id}/tasks/${started.body.taskId}`)).body;
        if (task.usage.llmCalls === fake.count || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(task.status, 'cancelled');
      assert.ok(fake.count >= 3);
      assert.equal(task.usage.llmCalls, fake.count);
      assert.ok(task.usage.inputTokens > 0 && task.usage.costUsd > 0, JSON.stringify(task.usage));
    } finally {
      script = undefined;
    }
  });
});

describe('staleness compares what produced the cell', () => {
  it('restoring a prompt makes its cells (and their readers) done again; an unchanged save, a threshold or a rename marks nothing', async () => {
    const ds = await dataset([{ Name: 'a' }, { Name: 'b' }], [
      { name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'A {{Name}}' } },
      { name: 'Reader', taskType: 'ai_enrich', metadata: { prompt: 'B {{Out}}' } },
    ]);
    await run(ds.id);
    const statuses = async () => [...(await column(ds.id, ds.ids.Out)), ...(await column(ds.id, ds.ids.Reader))].map((c: any) => c.status);
    const patch = async (columnId: string | undefined, body: unknown) => {
      const res = await app.patch(`/api/v2/datasets/${ds.id}/columns/${columnId}`, body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };
    assert.deepEqual(await statuses(), ['done', 'done', 'done', 'done']);
    await patch(ds.ids.Out, { metadata: { prompt: 'C {{Name}}' } });
    assert.deepEqual(await statuses(), ['stale', 'stale', 'stale', 'stale']);
    await patch(ds.ids.Out, { metadata: { prompt: 'A {{Name}}' } });
    assert.deepEqual(await statuses(), ['done', 'done', 'done', 'done']);
    await patch(ds.ids.Out, { metadata: { prompt: 'A {{Name}}' } });
    await patch(ds.ids.Out, { metadata: { confidence: 0.4 } });
    await patch(ds.ids.Name, { name: 'Title' });
    assert.deepEqual(await statuses(), ['done', 'done', 'done', 'done']);
    await patch(ds.ids.Reader, { metadata: { model: 'openai:gpt-4o' } });
    assert.deepEqual(await statuses(), ['done', 'done', 'stale', 'stale']);
  });
});
