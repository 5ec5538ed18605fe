import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/main.ts';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from './fakes/openai-server.ts';
import { ADMIN_KEY, freshDatabase, startTestApp, type TestApp } from './helpers/app.ts';
import { waitForTask } from './helpers/tasks.ts';

let app: TestApp;
let fake: FakeLlmServer;
let script: ((req: RecordedRequest) => FakeReply | undefined) | undefined;
before(async () => {
  fake = await startFakeOpenAI({ latencyMs: 2, respond: (r) => script?.(r) });
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', llmMaxAttempts: 3 });
});
after(async () => {
  await app.close();
  await fake.close();
});


const userText = (r: RecordedRequest) => String(r.body.messages?.find((m) => m.role === 'user')?.content);

async function setup(a: TestApp, names: string[], metadata: Record<string, unknown> = { prompt: 'Do {{Name}}' }, taskType = 'ai_enrich') {
  const res = await a.post('/api/v2/datasets', { name: 'T', type: 'analysis', rows: names.map((Name) => ({ Name })) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const col = await a.post(`/api/v2/datasets/${res.body.datasetId}/columns`, { name: 'Out', taskType, metadata });
  assert.equal(col.status, 201, JSON.stringify(col.body));
  return { id: res.body.datasetId as string, col: col.body.columnId as string };
}
async function runTask(a: TestApp, id: string, body: unknown = {}) {
  const res = await a.post(`/api/v2/datasets/${id}/tasks/bulk`, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return waitForTask(a, id, res.body.taskId, undefined, 30_000);
}
async function cells(a: TestApp, id: string, col: string) {
  const g = (await a.get(`/api/v2/datasets/${id}/data?includeMetadata=true`)).body;
  const k = g.columns.findIndex((c: any) => c.columnId === col);
  return g.data.map((r: any[]) => r[k]);
}
async function with_(s: typeof script, fn: () => Promise<void>) {
  script = s;
  try {
    await fn();
  } finally {
    script = undefined;
  }
}

describe('engine faults', () => {
  it('retries a 429 after its Retry-After, then succeeds', () =>
    with_(undefined, async () => {
      const ds = await setup(app, ['retry-me']);
      fake.reset();
      fake.enqueue({ kind: 'error', status: 429, retryAfter: 1 });
      const started = Date.now();
      const task = await runTask(app, ds.id);
      assert.equal(task.status, 'completed');
      assert.ok(Date.now() - started >= 950, 'Retry-After honoured');
      assert.equal(fake.count, 2);
      const [cell] = await cells(app, ds.id, ds.col);
      assert.equal(cell.status, 'done');
      assert.equal(cell.metadata.attempts, 2);
    }));

  it('a 500 storm ends cells in error (retryable) after the max attempts; the task completes', () =>
    with_((r) => (userText(r).includes('storm') ? { kind: 'error', status: 500 } : undefined), async () => {
      const ds = await setup(app, ['storm a', 'storm b', 'calm']);
      fake.reset();
      const task = await runTask(app, ds.id);
      assert.equal(task.status, 'completed');
      assert.deepEqual(task.progress, { total: 3, completed: 1, failed: 2, skipped: 0 });
      assert.equal(fake.count, 7); // 2 cells x 3 attempts + 1
      const all = await cells(app, ds.id, ds.col);
      assert.equal(all[2].status, 'done');
      for (const c of all.slice(0, 2)) {
        assert.equal(c.status, 'error');
        assert.equal(c.metadata.error.code, 'LLM_SERVER_ERROR');
        assert.equal(c.metadata.error.retryable, true);
        assert.equal(c.metadata.attempts, 3);
        assert.equal(c.metadata.costUsd, 0);
      }
    }));

  it('a task whose every cell failed is failed, and so is its dataset', () =>
    with_(() => ({ kind: 'error', status: 400 }), async () => {
      const ds = await setup(app, ['bad']);
      const task = await runTask(app, ds.id);
      assert.equal(task.status, 'failed');
      assert.equal(task.usage.costUsd, 0);
      assert.equal((await app.get(`/api/v2/datasets/${ds.id}`)).body.status, 'failed');
    }));

  it('a 401 ends the cell in error at once; other cells go on', () =>
    with_((r) => (userText(r).includes('deny') ? { kind: 'error', status: 401 } : undefined), async () => {
      const ds = await setup(app, ['deny', 'ok']);
      fake.reset();
      const task = await runTask(app, ds.id);
      assert.equal(task.status, 'completed');
      assert.deepEqual(task.progress, { total: 2, completed: 1, failed: 1, skipped: 0 });
      const [denied, ok] = await cells(app, ds.id, ds.col);
      assert.equal(denied.status, 'error');
      assert.deepEqual({ code: denied.metadata.error.code, retryable: denied.metadata.error.retryable }, { code: 'LLM_AUTH', retryable: false });
      assert.equal(ok.status, 'done');
      assert.equal(fake.requests.filter((r) => userText(r).includes('deny')).length, 1);
    }));

  it('malformed structured output ends the cell in error', () =>
    with_(() => ({ kind: 'json', value: { wrong: true } }), async () => {
      const ds = await setup(app, ['x'], { prompt: 'Do {{Name}}', outputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } });
      const task = await runTask(app, ds.id);
      assert.equal(task.status, 'failed');
      const [c] = await cells(app, ds.id, ds.col);
      assert.equal(c.metadata.error.code, 'LLM_INVALID_OUTPUT');
    }));

  it("an executor's own refusal (a row without coordinates) ends the cell in error with its code, once", async () => {
    const ds = await setup(app, ['x'], { prompt: 'coffee shops' }, 'places_count');
    const task = await runTask(app, ds.id);
    const [c] = await cells(app, ds.id, ds.col);
    assert.deepEqual([c.status, c.metadata.error.code, c.metadata.error.retryable, c.metadata.attempts], ['error', 'MISSING_COORDINATES', false, 1]);
    assert.equal(task.usage.costUsd, 0);
  });

  it('an unreachable LLM ends cells in error and the task ends', async () => {
    const port = await closedPort();
    const other = await startTestApp({ openaiBaseUrl: `http://127.0.0.1:${port}/v1`, llmMaxAttempts: 2 });
    try {
      const ds = await setup(other, ['a', 'b']);
      const task = await runTask(other, ds.id);
      assert.equal(task.status, 'failed');
      for (const c of await cells(other, ds.id, ds.col)) assert.equal(c.metadata.error.code, 'LLM_UNREACHABLE');
    } finally {
      await other.close();
    }
  });

  it('answers the same task again from the cache: no new requests, cached: true, no cost', async () => {
    const ds = await setup(app, ['c1', 'c2', 'c3']);
    await runTask(app, ds.id);
    const before = fake.count;
    const again = await runTask(app, ds.id, { columnIds: [ds.col] });
    assert.equal(fake.count, before);
    assert.equal(again.usage.cachedCalls, 3);
    assert.equal(again.usage.llmCalls, 0);
    assert.equal(again.usage.costUsd, 0);
    for (const c of await cells(app, ds.id, ds.col)) assert.deepEqual([c.status, c.metadata.cached, c.metadata.costUsd], ['done', true, 0]);
  });

  it('stops at maxCostUsd with error "budget reached" and skips the rest', async () => {
    const one = await startTestApp({ openaiBaseUrl: fake.baseUrl, llmConcurrency: 1 });
    try {
      const ds = await setup(one, ['b1', 'b2', 'b3', 'b4']);
      const task = await runTask(one, ds.id, { maxCostUsd: 1e-9 });
      assert.equal(task.status, 'completed');
      assert.equal(task.error, 'budget reached');
      assert.ok(task.progress.skipped >= 2, JSON.stringify(task.progress));
      assert.ok((await cells(one, ds.id, ds.col)).some((c: any) => c.status === 'empty'));
    } finally {
      await one.close();
    }
  });

  it('streams cell and task events over SSE', async () => {
    const ds = await setup(app, ['s1', 's2']);
    const controller = new AbortController();
    const res = await fetch(`${app.baseUrl}/api/v2/datasets/${ds.id}/events`, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    await runTask(app, ds.id);
    let text = '';
    const deadline = Date.now() + 5000;
    const completed = /event: task\ndata: [^\n]*"status":"completed"/;
    while (!completed.test(text)) {
      assert.ok(Date.now() < deadline, `no completed task event in ${text}`);
      const { value, done } = await reader.read();
      assert.ok(!done, `the stream ended before a completed task event: ${text}`);
      text += new TextDecoder().decode(value);
    }
    assert.match(text, completed);
    assert.match(text, /event: cell\ndata: [^\n]*"status":"done"/);
    controller.abort();
  });
});

describe('restart', () => {
  it('a server closed mid-task is finished by the next one, no cell processed twice', async () => {
    const db = await freshDatabase();
    const slow = await startFakeOpenAI({ latencyMs: 150 });
    const config = loadConfig({}, { port: 0, dataDir: db.dataDir, adminKey: ADMIN_KEY, logLevel: 'error', rateLimitPerMinute: 0, openaiBaseUrl: slow.baseUrl, llmConcurrency: 2, taskLeaseMs: 1000, ...(db.databaseUrl ? { databaseUrl: db.databaseUrl, databaseSchema: db.databaseSchema } : {}) });
    const client = (port: number) => ({
      get: async (p: string) => {
        const r = await fetch(`http://127.0.0.1:${port}${p}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        return { status: r.status, body: (await r.json()) as any, headers: r.headers };
      },
      post: async (p: string, body: unknown) => {
        const r = await fetch(`http://127.0.0.1:${port}${p}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: r.status, body: (await r.json()) as any, headers: r.headers };
      },
    });
    let first = await startServer(config);
    try {
      const a = client(first.port) as unknown as TestApp;
      const names = Array.from({ length: 12 }, (_, i) => `r${i}`);
      const ds = await setup(a, names);
      const created = await a.post(`/api/v2/datasets/${ds.id}/tasks/bulk`, {});
      const deadline = Date.now() + 10_000;
      while (slow.count < 3) {
        assert.ok(Date.now() < deadline);
        await new Promise((r) => setTimeout(r, 10));
      }
      await first.close();
      first = await startServer(config);
      const b = client(first.port) as unknown as TestApp;
      const task = await waitForTask(b, ds.id, created.body.taskId, undefined, 30_000);
      assert.equal(task.status, 'completed');
      assert.equal(task.progress.completed, 12);
      const perPrompt = new Map<string, number>();
      for (const r of slow.requests) perPrompt.set(userText(r), (perPrompt.get(userText(r)) ?? 0) + 1);
      assert.equal(perPrompt.size, 12);
      assert.deepEqual([...perPrompt.values()].filter((n) => n !== 1), []);
    } finally {
      await first.close();
      await slow.close();
      await db.drop();
    }
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
