import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { startServer } from '../src/main.ts';
import { ADMIN_KEY, expectError, startTestApp, testBackend } from './helpers/app.ts';

/**
 * Rate limits run on an injected clock, so a minute boundary never falls between a test's
 * requests by accident: the clock starts 100 ms before a boundary and moves only when told.
 */
function testClock() {
  let now = Date.UTC(2026, 0, 1, 12, 0, 59, 900);
  return { clock: () => now, advance: (ms: number) => void (now += ms), now: () => now };
}

describe('rate limits', () => {
  it('sends X-RateLimit headers on every response, 429 with Retry-After past the limit, and a fresh window a minute later', async () => {
    const t = testClock();
    const limited = await startTestApp({ rateLimitPerMinute: 3 }, { clock: t.clock });
    try {
      const first = await limited.get('/api/v2/datasets');
      assert.equal(first.headers.get('x-ratelimit-limit'), '3');
      assert.equal(first.headers.get('x-ratelimit-remaining'), '2');
      assert.equal(Number(first.headers.get('x-ratelimit-reset')), Math.ceil(t.now() / 1000), 'the window ends at the next minute');
      await limited.get('/api/v2/datasets');
      const third = await limited.get('/api/v2/datasets/ds_missing');
      expectError(third, 404, 'DATASET_NOT_FOUND');
      assert.equal(third.headers.get('x-ratelimit-remaining'), '0', 'error responses carry the headers too');
      const fourth = await limited.get('/api/v2/datasets');
      expectError(fourth, 429, 'RATE_LIMITED');
      assert.equal(fourth.headers.get('retry-after'), '1');
      t.advance(60_000);
      const later = await limited.get('/api/v2/datasets');
      assert.equal(later.status, 200);
      assert.equal(later.headers.get('x-ratelimit-remaining'), '2');
    } finally {
      await limited.close();
    }
  });

  it('counts each API key in a window of its own', async () => {
    const limited = await startTestApp({ rateLimitPerMinute: 2 }, { clock: testClock().clock });
    try {
      const other = (await limited.post('/api/v2/keys', { name: 'second', scopes: ['read', 'write'] })).body.key as string;
      // The key creation above used one of the admin key's two requests.
      assert.equal((await limited.get('/api/v2/datasets')).status, 200);
      expectError(await limited.get('/api/v2/datasets'), 429, 'RATE_LIMITED');
      const theirs = await limited.get('/api/v2/datasets', { key: other });
      assert.equal(theirs.status, 200, 'another key is not held back by the first');
      assert.equal(theirs.headers.get('x-ratelimit-remaining'), '1');
    } finally {
      await limited.close();
    }
  });

  it('throttles failed authentications per address without holding back a valid key', async () => {
    const t = testClock();
    const app = await startTestApp({ authFailuresPerMinute: 3 }, { clock: t.clock });
    try {
      for (let i = 0; i < 3; i++) {
        const bad = await app.get('/api/v2/datasets', { key: `cw_wrong_${i}` });
        expectError(bad, 401, 'UNAUTHORIZED');
        assert.equal(bad.headers.get('x-ratelimit-limit'), '3', 'a failed authentication carries the rate-limit headers');
        assert.equal(bad.headers.get('x-ratelimit-remaining'), String(2 - i));
      }
      const throttled = await app.get('/api/v2/datasets', { key: 'cw_wrong_again' });
      expectError(throttled, 429, 'RATE_LIMITED');
      assert.equal(throttled.headers.get('retry-after'), '1');
      expectError(await app.get('/api/v2/datasets', { key: null }), 429, 'RATE_LIMITED');
      assert.equal((await app.get('/api/v2/datasets')).status, 200, 'the valid key from the same address still works');
      t.advance(60_000);
      expectError(await app.get('/api/v2/datasets', { key: 'cw_wrong_later' }), 401, 'UNAUTHORIZED');
    } finally {
      await app.close();
    }
  });

  it('says how many seconds are left in the window, in Retry-After and in the error details', async () => {
    const t = testClock();
    t.advance(-29_500); // 12:00:30.400: 29.6 s of the window left, announced as 30 (whole seconds, rounded up)
    const limited = await startTestApp({ rateLimitPerMinute: 1 }, { clock: t.clock });
    try {
      const first = await limited.get('/api/v2/datasets');
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('x-ratelimit-reset'), String(Date.UTC(2026, 0, 1, 12, 1) / 1000));
      const over = await limited.get('/api/v2/datasets');
      expectError(over, 429, 'RATE_LIMITED');
      assert.equal(over.headers.get('retry-after'), '30');
      assert.deepEqual(over.body.details, { limit: 1, retryAfter: 30 });
      assert.equal(over.headers.get('x-ratelimit-remaining'), '0');
    } finally {
      await limited.close();
    }
  });

  it('a limit of 0 is no limit: no headers, no 429, and the public OpenAPI document is served on a limited app', async () => {
    const t = testClock();
    const open = await startTestApp({ rateLimitPerMinute: 0, authFailuresPerMinute: 0 }, { clock: t.clock });
    const limited = await startTestApp({ rateLimitPerMinute: 1 }, { clock: t.clock });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await open.get('/api/v2/datasets');
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-ratelimit-limit'), null);
        const bad = await open.get('/api/v2/datasets', { key: `cw_wrong_${i}` });
        expectError(bad, 401, 'UNAUTHORIZED');
        assert.equal(bad.headers.get('x-ratelimit-limit'), null);
      }
      for (let i = 0; i < 2; i++) assert.equal((await limited.get('/api/v2/openapi.json', { key: null })).status, 200, 'no key, nothing to count');
    } finally {
      await open.close();
      await limited.close();
    }
  });

  it('behind a trusted proxy counts failed authentications per X-Forwarded-For client; otherwise ignores the header', async () => {
    const t = testClock();
    const proxied = await startTestApp({ authFailuresPerMinute: 1, trustProxy: true }, { clock: t.clock });
    const direct = await startTestApp({ authFailuresPerMinute: 1 }, { clock: t.clock });
    const fail = (app: typeof proxied, forwardedFor: string) => app.get('/api/v2/datasets', { key: 'cw_wrong', headers: { 'x-forwarded-for': forwardedFor } });
    try {
      expectError(await fail(proxied, '203.0.113.1'), 401, 'UNAUTHORIZED');
      expectError(await fail(proxied, '203.0.113.1'), 429, 'RATE_LIMITED');
      // The first entry is the client (the proxies append theirs), spaces around it aside.
      expectError(await fail(proxied, '203.0.113.1 , 198.51.100.7'), 429, 'RATE_LIMITED');
      expectError(await fail(proxied, '203.0.113.2, 203.0.113.1'), 401, 'UNAUTHORIZED');
      // No header: the socket's address (127.0.0.1, not yet counted).
      expectError(await proxied.get('/api/v2/datasets', { key: 'cw_wrong' }), 401, 'UNAUTHORIZED');
      // Without a trusted proxy the header is the client's own word: a new value per attempt changes nothing.
      expectError(await fail(direct, '203.0.113.1'), 401, 'UNAUTHORIZED');
      const throttled = await fail(direct, '203.0.113.2');
      expectError(throttled, 429, 'RATE_LIMITED');
      assert.deepEqual(throttled.body.details, { limit: 1, retryAfter: 1 });
    } finally {
      await proxied.close();
      await direct.close();
    }
  });

  it('counts failed authentications per client address: another address is not held back', async () => {
    const app = await startTestApp({ authFailuresPerMinute: 1 }, { clock: testClock().clock });
    // Behind a trusted proxy, a request without X-Forwarded-For counts for its socket's address.
    const proxied = await startTestApp({ authFailuresPerMinute: 1, trustProxy: true }, { clock: testClock().clock });
    // The whole of 127.0.0.0/8 is loopback: a client bound to 127.0.0.2 is another address.
    const from = (target: typeof app, localAddress: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: Number(new URL(target.baseUrl).port), path: '/api/v2/datasets', localAddress, headers: { authorization: 'Bearer cw_wrong' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    try {
      for (const target of [app, proxied]) {
        assert.equal(await from(target, '127.0.0.1'), 401);
        assert.equal(await from(target, '127.0.0.1'), 429);
        assert.equal(await from(target, '127.0.0.2'), 401, 'another address has its own count');
        assert.equal(await from(target, '127.0.0.2'), 429);
      }
    } finally {
      await app.close();
      await proxied.close();
    }
  });

  it('drops PostgreSQL windows older than the previous one', { skip: testBackend().kind !== 'postgres' ? 'needs the PostgreSQL backend' : false }, async () => {
    const t = testClock();
    const limited = await startTestApp({ rateLimitPerMinute: 10 }, { clock: t.clock });
    try {
      const windows = async () => (await sql<{ window_start: string }>`SELECT window_start FROM rate_limit_windows ORDER BY window_start`.execute(limited.running.store.db)).rows.map((r) => Number(r.window_start));
      const minute = (m: number) => Date.UTC(2026, 0, 1, 12, m);
      await limited.get('/api/v2/datasets');
      t.advance(60_000);
      await limited.get('/api/v2/datasets');
      assert.deepEqual(await windows(), [minute(0), minute(1)], 'the previous window is kept');
      t.advance(60_000);
      await limited.get('/api/v2/datasets');
      // The sweep runs beside the request: wait for its outcome.
      const deadline = Date.now() + 10_000;
      while ((await windows()).includes(minute(0))) {
        assert.ok(Date.now() < deadline, `windows left: ${(await windows()).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(await windows(), [minute(1), minute(2)]);
      // Once per window and process, not on every request (a request costs one upsert): an old
      // window written meanwhile, as by a process whose clock runs behind, stays until the next
      // window's sweep.
      const db = limited.running.store.db;
      await sql`INSERT INTO rate_limit_windows (bucket, window_start, count) VALUES ('key:behind', ${minute(0)}, 1)`.execute(db);
      await limited.get('/api/v2/datasets');
      await limited.get('/api/v2/datasets');
      // A sweep would run beside these requests: give one the time to land.
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(await windows(), [minute(0), minute(1), minute(2)], 'no sweep within the window');
      t.advance(60_000);
      await limited.get('/api/v2/datasets');
      while ((await windows()).includes(minute(1))) {
        assert.ok(Date.now() < deadline + 10_000, `windows left: ${(await windows()).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(await windows(), [minute(2), minute(3)]);
    } finally {
      await limited.close();
    }
  });

  it('is kept by two API processes together on PostgreSQL', { skip: testBackend().kind !== 'postgres' ? 'needs the PostgreSQL backend' : false }, async () => {
    const t = testClock();
    const api1 = await startTestApp({ rateLimitPerMinute: 4 }, { clock: t.clock });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-api2-'));
    const api2 = await startServer({ ...api1.config, dataDir, port: 0 }, { clock: t.clock });
    try {
      const onTwo = (p: string) => fetch(`http://127.0.0.1:${api2.port}${p}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      assert.equal((await api1.get('/api/v2/datasets')).status, 200);
      assert.equal((await onTwo('/api/v2/datasets')).status, 200);
      assert.equal((await api1.get('/api/v2/datasets')).status, 200);
      const fourth = await onTwo('/api/v2/datasets');
      assert.equal(fourth.status, 200);
      assert.equal(fourth.headers.get('x-ratelimit-remaining'), '0', 'API 2 sees the requests API 1 counted');
      expectError(await api1.get('/api/v2/datasets'), 429, 'RATE_LIMITED');
      assert.equal((await onTwo('/api/v2/datasets')).status, 429);
    } finally {
      await api2.close();
      await rm(dataDir, { recursive: true, force: true });
      await api1.close();
    }
  });
});
