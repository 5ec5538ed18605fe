import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { expectError, startTestApp, type TestApp } from './helpers/app.ts';

type Received = { headers: IncomingHttpHeaders; body: string };
let app: TestApp;
const received: Received[] = [];
let failWith = 0;
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    received.push({ headers: req.headers, body });
    res.statusCode = failWith || 204;
    res.end();
  });
});
let receiverUrl = '';
before(async () => {
  app = await startTestApp({ fetchAllowPrivate: true });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
});
after(async () => {
  await app.close();
  receiver.close();
});

const SECRET = 'whsec_0123456789abcdef';
async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('webhooks', () => {
  it('creates, lists, reads with secret-looking headers redacted, updates and deletes', async () => {
    const created = await app.post('/api/v2/webhooks', { name: 'ops', url: receiverUrl, events: ['dataset.deleted'], headers: { 'X-Api-Token': 'hidden', 'X-Team': 'data' }, secret: SECRET });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.webhookId, /^whk_/);
    assert.deepEqual(created.body.headers, { 'X-Api-Token': '[redacted]', 'X-Team': 'data' });
    assert.equal(JSON.stringify(created.body).includes(SECRET), false, 'the secret is never shown');
    const id = created.body.webhookId;
    assert.equal((await app.get('/api/v2/webhooks')).body.webhooks.some((w: any) => w.webhookId === id), true);
    const patched = await app.patch(`/api/v2/webhooks/${id}`, { events: ['dataset.created', 'dataset.deleted'] });
    assert.deepEqual(patched.body.events, ['dataset.created', 'dataset.deleted']);
    assert.equal((await app.del(`/api/v2/webhooks/${id}`)).status, 200);
    expectError(await app.get(`/api/v2/webhooks/${id}`), 404, 'WEBHOOK_NOT_FOUND');
  });

  it('validates the body', async () => {
    const base = { name: 'x', url: receiverUrl, events: ['dataset.created'], secret: SECRET };
    expectError(await app.post('/api/v2/webhooks', { ...base, secret: 'short' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post('/api/v2/webhooks', { ...base, events: ['dataset.exploded'] }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post('/api/v2/webhooks', { ...base, events: [] }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post('/api/v2/webhooks', { ...base, headers: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`x-h${i}`, 'v'])) }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post('/api/v2/webhooks', { ...base, url: 'ftp://example.com/x' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post('/api/v2/webhooks', { ...base, url: 'http://user:pw@127.0.0.1/x' }), 400, 'INVALID_PARAMETERS');
  });

  it('without CELLWISE_FETCH_ALLOW_PRIVATE only public https targets are accepted', async () => {
    const strict = await startTestApp();
    try {
      const base = { name: 'x', events: ['dataset.created'], secret: SECRET };
      for (const url of ['http://example.com/hook', 'https://127.0.0.1/hook', 'https://10.1.2.3/hook', 'https://[::1]/hook', 'https://169.254.169.254/latest', 'https://localhost/hook', 'https://[::ffff:127.0.0.1]/x']) {
        expectError(await strict.post('/api/v2/webhooks', { ...base, url }), 400, 'INVALID_PARAMETERS');
      }
    } finally {
      await strict.close();
    }
  });

  it('delivers subscribed events, signed with HMAC-SHA256 over timestamp and body, and logs them', async () => {
    received.length = 0;
    const hook = (await app.post('/api/v2/webhooks', { name: 'created', url: receiverUrl, events: ['dataset.created'], secret: SECRET })).body;
    const ds = (await app.post('/api/v2/datasets', { name: 'Hooked', type: 'analysis' })).body;
    const got = await waitFor(() => received.find((r) => r.body.includes(ds.datasetId)), 'the delivery');
    const payload = JSON.parse(got.body);
    assert.equal(payload.type, 'dataset.created');
    assert.equal(payload.data.datasetId, ds.datasetId);
    assert.equal(got.headers['x-cellwise-event'], 'dataset.created');
    const ts = String(got.headers['x-cellwise-timestamp']);
    assert.equal(got.headers['x-cellwise-signature'], `v1=${createHmac('sha256', SECRET).update(`${ts}.${got.body}`).digest('hex')}`);
    const log = await waitFor(async () => {
      const l = (await app.get(`/api/v2/webhooks/${hook.webhookId}/deliveries`)).body;
      return l.deliveries[0]?.status === 'succeeded' ? l : undefined;
    }, 'the delivery log');
    assert.equal(log.deliveries[0].lastStatusCode, 204);
    assert.equal(log.deliveries[0].attempts, 1);
    await app.del(`/api/v2/webhooks/${hook.webhookId}`);
  });

  it('schedules a retry with backoff after a failure, and retries by hand', async () => {
    const hook = (await app.post('/api/v2/webhooks', { name: 'flaky', url: receiverUrl, events: ['dataset.deleted'], secret: SECRET })).body;
    failWith = 500;
    const ds = (await app.post('/api/v2/datasets', { name: 'Doomed', type: 'analysis' })).body;
    await app.del(`/api/v2/datasets/${ds.datasetId}`);
    const failed = await waitFor(async () => (await app.get(`/api/v2/webhooks/${hook.webhookId}/deliveries`)).body.deliveries.find((d: any) => d.attempts === 1), 'a failed attempt');
    assert.equal(failed.status, 'pending');
    assert.equal(failed.lastStatusCode, 500);
    assert.ok(Date.parse(failed.nextAttemptAt) > Date.now(), 'the next attempt waits');
    failWith = 0;
    const retried = await app.post(`/api/v2/webhooks/${hook.webhookId}/deliveries/${failed.deliveryId}/retry`);
    assert.equal(retried.status, 200);
    assert.equal(retried.body.status, 'succeeded');
    assert.equal(retried.body.attempts, 2);
    expectError(await app.post(`/api/v2/webhooks/${hook.webhookId}/deliveries/dlv_nope/retry`), 404, 'NOT_FOUND');
    const test = await app.post(`/api/v2/webhooks/${hook.webhookId}/test`);
    assert.equal(test.body.event, 'webhook.test');
    assert.equal(test.body.status, 'succeeded');
  });

  it('is invisible to other workspaces', async () => {
    const hook = (await app.post('/api/v2/webhooks', { name: 'mine', url: receiverUrl, events: ['dataset.created'], secret: SECRET })).body;
    const other = (await app.post('/api/v2/workspaces', { name: 'other' })).body.key;
    for (const [method, path] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['POST', '/test'], ['GET', '/deliveries']] as const) {
      expectError(await app.request(method, `/api/v2/webhooks/${hook.webhookId}${path}`, { key: other, ...(method === 'PATCH' ? { body: { name: 'x' } } : {}) }), 404, 'WEBHOOK_NOT_FOUND');
    }
    assert.equal((await app.get('/api/v2/webhooks', { key: other })).body.pagination.total, 0);
  });
});
