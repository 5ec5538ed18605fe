import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../src/logger.ts';
import { startFakeOpenAI } from './fakes/openai-server.ts';
import { ADMIN_KEY, startTestApp } from './helpers/app.ts';
import { waitForTask } from './helpers/tasks.ts';

/** The server's logs at the default level (info), collected line by line as JSON. */
function collectingLogger() {
  const lines: Record<string, any>[] = [];
  let raw = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw += chunk.toString();
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: createLogger('info', out), lines, raw: () => raw };
}

describe('logs at the default level', () => {
  it('one line per request (route pattern, status, duration, key id; no key, no body) and the task start and end carry the creating request id', async () => {
    const fake = await startFakeOpenAI();
    const log = collectingLogger();
    const app = await startTestApp({ openaiBaseUrl: fake.baseUrl, logLevel: 'info' }, { logger: log.logger });
    try {
      const secret = 'body-marker-7f3a';
      const ds = await app.post('/api/v2/datasets', { name: secret, type: 'analysis', rows: [{ Name: 'Ada' }, { Name: 'Grace' }], columns: [{ name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } }] });
      const bulk = await app.post(`/api/v2/datasets/${ds.body.datasetId}/tasks/bulk`, {}, { headers: { 'x-request-id': 'req-from-client-1' } });
      assert.equal(bulk.headers.get('x-request-id'), 'req-from-client-1', 'a plain client request id is kept and echoed');
      await waitForTask(app, ds.body.datasetId, bulk.body.taskId);
      await app.get('/api/v2/datasets', { key: 'cw_not_a_key' });

      const requests = log.lines.filter((l) => l.message === 'request');
      const created = requests.find((l) => l.method === 'POST' && l.route === '/api/v2/datasets');
      assert.ok(created, JSON.stringify(requests.slice(0, 3)));
      assert.equal(created.status, 201);
      assert.equal(typeof created.durationMs, 'number');
      assert.match(created.keyId, /^key_/);
      assert.match(created.requestId, /^req_[0-9a-f]{16}$/);
      assert.equal(created.level, 'info');
      const bulkLine = requests.find((l) => l.requestId === 'req-from-client-1');
      assert.equal(bulkLine?.route, '/api/v2/datasets/:datasetId/tasks/bulk', 'the route pattern, not the path with ids');
      const denied = requests.find((l) => l.status === 401);
      assert.equal(denied?.keyId, null);
      assert.equal(requests.filter((l) => l.requestId === 'req-from-client-1').length, 1, 'one line per request');

      const started = log.lines.find((l) => l.message === 'task started');
      assert.equal(started?.requestId, 'req-from-client-1');
      assert.equal(started?.taskId, bulk.body.taskId);
      assert.equal(started?.progress.total, 2);
      const ended = log.lines.find((l) => l.message === 'task completed');
      assert.equal(ended?.requestId, 'req-from-client-1', 'the engine names the request that created the task');
      assert.deepEqual(ended?.progress, { total: 2, completed: 2, failed: 0, skipped: 0 });
      assert.equal(ended?.usage.llmCalls, 2);

      assert.ok(!log.raw().includes(ADMIN_KEY) && !log.raw().includes('cw_not_a_key'), 'no key is ever logged');
      assert.ok(!log.raw().includes(secret), 'no body is logged');
    } finally {
      await app.close();
      await fake.close();
    }
  });

  it('every answer carries the request id: a page, an error, a replayed idempotent answer, a 404', async () => {
    const app = await startTestApp();
    try {
      const ds = await app.post('/api/v2/datasets', { name: 'ids', type: 'analysis', rows: [{ Name: 'Ada' }] });
      const page = await app.get(`/api/v2/datasets/${ds.body.datasetId}/data`, { headers: { 'x-request-id': 'req-page-1' } });
      assert.equal(page.headers.get('x-request-id'), 'req-page-1', 'a page answered as bytes');
      assert.match((await app.get('/api/v2/datasets/ds_nope')).headers.get('x-request-id') ?? '', /^req_[0-9a-f]{16}$/);
      assert.match((await app.get('/api/v2/nowhere')).headers.get('x-request-id') ?? '', /^req_[0-9a-f]{16}$/);
      const first = await app.post('/api/v2/datasets', { name: 'once', type: 'analysis', rows: [] }, { headers: { 'idempotency-key': 'log-ids-1' } });
      const replay = await app.post('/api/v2/datasets', { name: 'once', type: 'analysis', rows: [] }, { headers: { 'idempotency-key': 'log-ids-1', 'x-request-id': 'req-replay-1' } });
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(replay.body, first.body);
      assert.equal(replay.headers.get('x-request-id'), 'req-replay-1', 'a Response made outside the context gets it too');
    } finally {
      await app.close();
    }
  });

  it('logs a cancelled task with its counts', async () => {
    const fake = await startFakeOpenAI({ latencyMs: 2000 });
    const log = collectingLogger();
    const app = await startTestApp({ openaiBaseUrl: fake.baseUrl, logLevel: 'info' }, { logger: log.logger });
    try {
      const ds = await app.post('/api/v2/datasets', { name: 'slow', type: 'analysis', rows: [{ Name: 'Ada' }], columns: [{ name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } }] });
      const bulk = await app.post(`/api/v2/datasets/${ds.body.datasetId}/tasks/bulk`, {});
      const cancel = await app.post(`/api/v2/datasets/${ds.body.datasetId}/tasks/${bulk.body.taskId}/cancel`, {}, { headers: { 'x-request-id': 'req-cancel-1' } });
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      const line = log.lines.find((l) => l.message === 'task cancelled');
      assert.equal(line?.taskId, bulk.body.taskId);
      assert.equal(line?.requestId, 'req-cancel-1');
      assert.equal(line?.startedBy, bulk.headers.get('x-request-id'));
      assert.equal(line?.progress.total, 1);
    } finally {
      await app.close();
      await fake.close();
    }
  });
});
