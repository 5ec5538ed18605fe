import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { startFakeOpenAI } from './fakes/openai-server.ts';
import { ADMIN_KEY, freshDatabase, startTestApp } from './helpers/app.ts';
import { CLI_ARGS } from './helpers/cli.ts';
import { waitForTask } from './helpers/tasks.ts';

/** One sample of a metric, e.g. value(text, 'cellwise_tasks{status="completed"}'). */
const value = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1] ?? NaN);

describe('operations: /ready and /metrics', () => {
  it('/metrics counts requests by route and status with latencies, cells, LLM calls, tokens and cost, and the deployment gauges', async () => {
    const fake = await startFakeOpenAI();
    const app = await startTestApp({ openaiBaseUrl: fake.baseUrl });
    try {
      assert.deepEqual((await app.get('/ready', { key: null })).body, { status: 'ready' });
      const ds = (await app.post('/api/v2/datasets', { name: 'm', type: 'analysis', rows: [{ Name: 'Ada' }, { Name: 'Grace' }], columns: [{ name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } }] })).body;
      const task = (await app.post(`/api/v2/datasets/${ds.datasetId}/tasks/bulk`, {})).body;
      await waitForTask(app, ds.datasetId, task.taskId);
      await app.get(`/api/v2/datasets/${ds.datasetId}`);
      await app.get('/api/v2/datasets/ds_missing');
      const res = await app.get('/metrics', { key: null });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = res.body as string;
      assert.equal(value(text, 'cellwise_http_requests_total{method="POST",route="/api/v2/datasets",status="201"}'), 1);
      assert.equal(value(text, 'cellwise_http_requests_total{method="GET",route="/api/v2/datasets/:datasetId",status="404"}'), 1, 'by route pattern, not by path');
      assert.ok(value(text, 'cellwise_http_request_duration_seconds_count{method="GET",route="/api/v2/datasets/:datasetId"}') >= 2);
      assert.equal(value(text, 'cellwise_cells_processed_total{task_type="ai_enrich",outcome="done"}'), 2);
      assert.equal(value(text, 'cellwise_llm_calls_total{provider="openai",model="gpt-4o-mini"}'), 2);
      assert.ok(value(text, 'cellwise_llm_tokens_total{provider="openai",model="gpt-4o-mini",direction="input"}') > 0);
      assert.ok(value(text, 'cellwise_llm_cost_usd_total{provider="openai",model="gpt-4o-mini"}') > 0);
      assert.equal(value(text, 'cellwise_tasks{status="completed"}'), 1);
      assert.equal(value(text, 'cellwise_task_items_pending'), 0);
      assert.ok(value(text, 'cellwise_workers_live') >= 1);
      assert.equal(value(text, 'cellwise_documents_extraction_queue'), 0);

      // The same cells again: answered from the cache.
      const again = (await app.post(`/api/v2/datasets/${ds.datasetId}/tasks/bulk`, { columnIds: [ds.columns[1].columnId] })).body;
      await waitForTask(app, ds.datasetId, again.taskId);
      assert.equal(value((await app.get('/metrics', { key: null })).body, 'cellwise_llm_cache_hits_total{provider="openai",model="gpt-4o-mini"}'), 2);
    } finally {
      await app.close();
      await fake.close();
    }
  });

  it('/metrics needs the CELLWISE_METRICS_TOKEN when one is set', async () => {
    const app = await startTestApp({ metricsToken: 'metrics-token-0123456789' });
    try {
      assert.equal((await app.get('/metrics', { key: null })).status, 401);
      assert.equal((await app.get('/metrics', { key: 'metrics-token-wrong-000000' })).status, 401);
      assert.equal((await app.get('/metrics', { key: ADMIN_KEY })).status, 401, 'an API key is not the metrics token');
      const ok = await app.get('/metrics', { key: 'metrics-token-0123456789' });
      assert.equal(ok.status, 200);
      assert.match(ok.body, /cellwise_http_requests_total/);
    } finally {
      await app.close();
    }
  });

  it('/ready is 503 with the reason while a migration is missing', async () => {
    const app = await startTestApp();
    try {
      await sql`DELETE FROM kysely_migration WHERE name = '0014_rate_limits'`.execute(app.running.store.db);
      const res = await app.get('/ready', { key: null });
      assert.equal(res.status, 503);
      assert.match(res.body.problems[0], /0014_rate_limits/);
      assert.equal((await app.get('/health', { key: null })).status, 200, 'liveness is not readiness');
    } finally {
      await app.close();
    }
  });
});

describe('SIGTERM', () => {
  const children: ChildProcess[] = [];
  after(() => children.forEach((c) => c.kill('SIGKILL')));

  it('stops accepting, hands back the items it holds and exits 0 within 30 s; a restarted server finishes the task', async () => {
    const db = await freshDatabase();
    // The fake reads its options at each request: slow while the first server holds calls, then fast.
    const fakeOptions = { latencyMs: 20_000 };
    const fake = await startFakeOpenAI(fakeOptions);
    const env = { PORT: '0', CELLWISE_DATA_DIR: db.dataDir, CELLWISE_ADMIN_KEY: ADMIN_KEY, CELLWISE_LOG_LEVEL: 'error', OPENAI_BASE_URL: fake.baseUrl, CELLWISE_LLM_CONCURRENCY: '3', ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl, CELLWISE_DATABASE_SCHEMA: db.databaseSchema! } : {}) };
    const serve = () =>
      new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [...CLI_ARGS, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(child);
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve({ child, url: m[1]! });
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
      });
    const call = async (url: string, method: string, path: string, body?: unknown) => {
      const r = await fetch(`${url}/api/v2${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      return (await r.json()) as any;
    };
    try {
      const first = await serve();
      const rows = Array.from({ length: 6 }, (_, i) => ({ Name: `term ${i}` }));
      const ds = await call(first.url, 'POST', '/datasets', { name: 'term', type: 'analysis', rows, columns: [{ name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } }] });
      const task = await call(first.url, 'POST', `/datasets/${ds.datasetId}/tasks/bulk`, {});
      const deadline = Date.now() + 30_000;
      while (fake.count < 3) {
        assert.ok(Date.now() < deadline, 'the task started');
        await new Promise((r) => setTimeout(r, 10));
      }
      // Three calls are in flight for 20 s: longer than the server may take to stop.
      const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
        const t = performance.now();
        first.child.once('exit', (code) => resolve({ code, ms: performance.now() - t }));
      });
      first.child.kill('SIGTERM');
      const { code, ms } = await exited;
      assert.equal(code, 0);
      assert.ok(ms < 30_000, `exited after ${ms} ms`);
      await assert.rejects(fetch(`${first.url}/health`), 'no longer accepting connections');

      fakeOptions.latencyMs = 10;
      const second = await serve();
      let t: any;
      const end = Date.now() + 60_000;
      do {
        await new Promise((r) => setTimeout(r, 50));
        t = await call(second.url, 'GET', `/datasets/${ds.datasetId}/tasks/${task.taskId}`);
        assert.ok(Date.now() < end, `task still ${t.status}`);
      } while (!['completed', 'failed', 'cancelled'].includes(t.status));
      assert.equal(t.status, 'completed', JSON.stringify(t));
      assert.deepEqual(t.progress, { total: 6, completed: 6, failed: 0, skipped: 0 }, 'the items held at SIGTERM were handed back, not failed');
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    } finally {
      await fake.close();
      await db.drop();
    }
  });
});
