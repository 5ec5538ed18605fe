import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { startFakeOpenAI } from './fakes/openai-server.ts';
import { ADMIN_KEY, freshDatabase } from './helpers/app.ts';
import { CLI_ARGS } from './helpers/cli.ts';

/**
 * The server process killed with SIGKILL mid-task (no shutdown code runs), then started again on
 * the same database: the task finishes, every cell is written once, and the only repeated LLM
 * calls are those of the items the dead server held.
 */
describe('a server killed with SIGKILL mid-task', () => {
  const children: ChildProcess[] = [];
  after(() => children.forEach((c) => c.kill('SIGKILL')));

  function serve(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, [...CLI_ARGS, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve({ child, url: m[1]! });
      });
      child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
    });
  }

  it('is finished by the restarted server; no cell lost or written twice', async () => {
    const db = await freshDatabase();
    const fake = await startFakeOpenAI({ latencyMs: 200 });
    try {
      const env = {
        PORT: '0',
        CELLWISE_DATA_DIR: db.dataDir,
        CELLWISE_ADMIN_KEY: ADMIN_KEY,
        CELLWISE_LOG_LEVEL: 'error',
        CELLWISE_RATE_LIMIT_PER_MINUTE: '0',
        OPENAI_BASE_URL: fake.baseUrl,
        CELLWISE_LLM_CONCURRENCY: '3',
        CELLWISE_TASK_LEASE_MS: '1000',
        ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl, CELLWISE_DATABASE_SCHEMA: db.databaseSchema! } : {}),
      };
      const api = (url: string) => async (method: string, path: string, body?: unknown) => {
        const r = await fetch(`${url}/api/v2${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
        return { status: r.status, body: (await r.json()) as any };
      };
      const first = await serve(env);
      let call = api(first.url);
      const rows = Array.from({ length: 24 }, (_, i) => ({ Name: `crash ${i}` }));
      const ds = (await call('POST', '/datasets', { name: 'crash', type: 'analysis', rows, columns: [{ name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } }] })).body;
      const task = (await call('POST', `/datasets/${ds.datasetId}/tasks/bulk`, {})).body;
      const deadline = Date.now() + 15_000;
      while (fake.count < 6) {
        assert.ok(Date.now() < deadline, 'the task started');
        await new Promise((r) => setTimeout(r, 10));
      }
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));
      const before = fake.count;

      const second = await serve(env);
      call = api(second.url);
      let t: any;
      const end = Date.now() + 60_000;
      do {
        await new Promise((r) => setTimeout(r, 50));
        t = (await call('GET', `/datasets/${ds.datasetId}/tasks/${task.taskId}`)).body;
        assert.ok(Date.now() < end, `task still ${t.status}`);
      } while (!['completed', 'failed', 'cancelled'].includes(t.status));
      assert.equal(t.status, 'completed');
      assert.deepEqual(t.progress, { total: 24, completed: 24, failed: 0, skipped: 0 });
      const data = (await call('GET', `/datasets/${ds.datasetId}/data?limit=100&includeMetadata=true`)).body;
      assert.ok(data.data.every((r: any[]) => r[1].status === 'done' && /^fake answer /.test(r[1].value)));
      const prompts = new Map<string, number>();
      for (const r of fake.requests) prompts.set(JSON.stringify(r.body.messages?.at(-1)), (prompts.get(JSON.stringify(r.body.messages?.at(-1))) ?? 0) + 1);
      assert.equal(prompts.size, 24, 'every cell was asked for');
      // Only the items the dead server held are asked twice: calls in flight, and answers not yet
      // committed (a claim holds at most twice the concurrency).
      const repeated = [...prompts.values()].filter((n) => n > 1).length;
      assert.ok(repeated <= 6, `${repeated} cells asked twice (killed with ${before} requests made)`);
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    } finally {
      await fake.close();
      await db.drop();
    }
  });
});
