import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { freshDatabase } from '../../test/helpers/app.ts';
import { createLogger } from '../logger.ts';
import { openStore, type Store } from '../store/store.ts';
import type { AppEnv } from './env.ts';
import { createErrorHandler } from './error-handler.ts';
import { idempotencyMiddleware } from './idempotency.ts';

/**
 * The middleware over a real store, in front of routes the test controls: a handler that waits
 * until it is let go (a request still in flight), one that fails with a server error, and the
 * store's own clock moved by the test (the 24 h a key is kept). test/auth.test.ts checks it
 * through the app (replays, bodies, method and path, per API key).
 */
let store: Store;
let db: Awaited<ReturnType<typeof freshDatabase>>;
before(async () => {
  db = await freshDatabase();
  store = await openStore(db);
});
after(async () => {
  await store.close();
  await db.drop();
});

const HOUR = 3600_000;

/**
 * The store, but each read of an idempotency key first runs `hook.beforeRead` when one is set: the
 * test places another request's work between a request's claim of a key and its read of it.
 */
function storeWithHook(hook: { beforeRead?: () => Promise<void> }): Store {
  const wrap = <T extends object>(builder: T): T =>
    new Proxy(builder, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        if (prop === 'executeTakeFirst')
          return async (...args: unknown[]) => {
            await hook.beforeRead?.();
            return value.apply(target, args);
          };
        return (...args: unknown[]) => {
          const next = value.apply(target, args) as unknown;
          return next && typeof next === 'object' && 'executeTakeFirst' in next ? wrap(next) : next;
        };
      },
    });
  const db = new Proxy(store.db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop === 'selectFrom') return (table: 'idempotency_keys') => wrap(target.selectFrom(table));
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return Object.assign(Object.create(store) as Store, { db });
}

function testApp(own: Store = store) {
  let now = Date.UTC(2026, 0, 1, 12);
  const calls: Record<string, number> = {};
  const gates: (() => void)[] = [];
  const entered: (() => void)[] = [];
  const app = new Hono<AppEnv>();
  app.onError(createErrorHandler(createLogger('silent')));
  app.use('*', async (c, next) => {
    c.set('auth', { workspaceId: 'ws_1', keyId: c.req.header('x-key-id') ?? 'key_1', scopes: ['write'] });
    await next();
  });
  app.use('*', idempotencyMiddleware(own, () => now));
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  app.on(['POST', 'PUT', 'PATCH'], ['/count', '/elsewhere'], async (c) => c.json({ call: count('count'), method: c.req.method, body: await c.req.json() }, 201));
  app.on(['GET', 'DELETE'], '/count', (c) => c.json({ call: count('count') }));
  app.post('/text', (c) => c.text(`call ${count('text')}`, 202));
  app.post('/slow', async (c) => {
    const call = count('slow');
    await new Promise<void>((resolve) => {
      gates.push(resolve);
      entered.shift()?.();
    });
    return c.json({ call }, 201);
  });
  // Waits until let go, then fails with a server error the first time; works the second.
  app.post('/doomed', async (c) => {
    const call = count('doomed');
    if (call === 1) {
      await new Promise<void>((resolve) => {
        gates.push(resolve);
        entered.shift()?.();
      });
      throw new Error('a server fault');
    }
    return c.json({ call }, 201);
  });
  // Throws something that is not an Error (hono hands only Errors to onError) the first time, works the second.
  app.post('/odd', () => {
    if (count('odd') === 1) throw 'not an Error';
    return new Response(JSON.stringify({ call: calls.odd }), { status: 201, headers: { 'content-type': 'application/json' } });
  });
  // Fails with a server error the first time, works the second.
  app.post('/flaky', (c) => {
    if (count('flaky') === 1) throw new Error('a server fault');
    return c.json({ call: calls.flaky }, 201);
  });
  const send = async (method: string, path: string, key: string, body: unknown = {}, keyId = 'key_1') => {
    const withBody = method !== 'GET' && method !== 'DELETE';
    const res = await app.request(path, { method, headers: { 'idempotency-key': key, 'content-type': 'application/json', 'x-key-id': keyId }, ...(withBody ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), type: res.headers.get('content-type'), body: (await res.json()) as any };
  };
  return {
    app,
    send,
    calls,
    advance: (ms: number) => void (now += ms),
    /** Resolves once the next /slow request is inside its handler. */
    nextEntered: () => new Promise<void>((resolve) => entered.push(resolve)),
    release: () => gates.shift()?.(),
  };
}

describe('idempotency middleware', () => {
  it('replays POST, PUT and PATCH alike, with the first response\'s status, body and type', async () => {
    const t = testApp();
    for (const method of ['POST', 'PUT', 'PATCH']) {
      const first = await t.send(method, '/count', `each-${method}`, { n: 1 });
      assert.deepEqual([first.status, first.replayed, first.body.method], [201, null, method]);
      const again = await t.send(method, '/count', `each-${method}`, { n: 1 });
      assert.deepEqual(again, { ...first, replayed: 'true' }, method);
    }
    assert.equal(t.calls.count, 3, 'each method ran once');
    const text = await t.app.request('/text', { method: 'POST', headers: { 'idempotency-key': 'as-text' } });
    const textAgain = await t.app.request('/text', { method: 'POST', headers: { 'idempotency-key': 'as-text' } });
    assert.deepEqual([textAgain.status, textAgain.headers.get('content-type'), await textAgain.text()], [202, text.headers.get('content-type'), await text.text()]);
    assert.match(textAgain.headers.get('content-type') ?? '', /^text\/plain/);
  });

  it('binds a key to its method, path and API key, and leaves GET and DELETE alone', async () => {
    const t = testApp();
    assert.equal((await t.send('POST', '/count', 'bound', { v: 1 })).status, 201);
    assert.equal((await t.send('POST', '/elsewhere', 'bound', { v: 1 })).status, 409, 'another path');
    assert.equal((await t.send('PUT', '/count', 'bound', { v: 1 })).status, 409, 'another method');
    const theirs = await t.send('POST', '/count', 'bound', { v: 1 }, 'key_2');
    assert.deepEqual([theirs.status, theirs.replayed, theirs.body.call], [201, null, 2], 'another API key\'s key of the same name is its own');
    for (const method of ['GET', 'DELETE']) {
      const a = await t.send(method, '/count', 'unused');
      const b = await t.send(method, '/count', 'unused');
      assert.deepEqual([a.replayed, b.replayed, b.body.call - a.body.call], [null, null, 1], method);
    }
  });

  it('names what it refuses: a key over 255 characters, and a key used with another body', async () => {
    const t = testApp();
    assert.equal((await t.send('POST', '/count', 'k'.repeat(255))).status, 201, '255 characters are allowed');
    const long = await t.send('POST', '/count', 'k'.repeat(256));
    assert.deepEqual([long.status, long.body.code, long.body.details.issues.map((i: { path: string }) => i.path)], [400, 'INVALID_PARAMETERS', ['header.idempotency-key']]);
    assert.match(long.body.details.issues[0].message, /255/, 'the issue names the limit');
    assert.equal((await t.send('POST', '/count', 'other-body', { v: 1 })).status, 201);
    const other = await t.send('POST', '/count', 'other-body', { v: 2 });
    assert.deepEqual([other.status, other.body.code, other.body.details], [409, 'IDEMPOTENCY_KEY_CONFLICT', { idempotencyKey: 'other-body' }]);
    // The same code as a retry of a request still running (next test): only the message tells the
    // client that this one must not be retried as it is.
    assert.match(other.body.error, /different request/);
    assert.equal(t.calls.count, 2);
  });

  it('answers a retry while the first request is still running with a conflict, and runs the handler once', async () => {
    const t = testApp();
    const inside = t.nextEntered();
    const first = t.send('POST', '/slow', 'in-flight');
    await inside;
    const retry = await t.send('POST', '/slow', 'in-flight');
    assert.equal(retry.status, 409);
    assert.deepEqual([retry.body.code, retry.body.details], ['IDEMPOTENCY_KEY_CONFLICT', { idempotencyKey: 'in-flight' }]);
    assert.match(retry.body.error, /still in progress/, 'the message tells it apart from a key used with another request');
    t.release();
    assert.deepEqual((await first).body, { call: 1 });
    const replay = await t.send('POST', '/slow', 'in-flight');
    assert.deepEqual([replay.status, replay.replayed, replay.body], [201, 'true', { call: 1 }]);
    assert.equal(t.calls.slow, 1);
  });

  it('a retry whose key is released between its claim and its read is told to retry, and the next one runs', async () => {
    const hook: { beforeRead?: () => Promise<void> } = {};
    const t = testApp(storeWithHook(hook));
    const inside = t.nextEntered();
    const first = t.send('POST', '/doomed', 'released');
    await inside;
    // The retry's claim fails (the first request holds the key); before it reads the key, the first
    // request fails with a server error, which releases the key.
    hook.beforeRead = async () => {
      hook.beforeRead = undefined;
      t.release();
      assert.equal((await first).status, 500);
    };
    const retry = await t.send('POST', '/doomed', 'released');
    assert.deepEqual([retry.status, retry.body.code, retry.replayed], [409, 'IDEMPOTENCY_KEY_CONFLICT', null]);
    assert.match(retry.body.error, /retry/, 'the same code as a key used with another request: the message says to retry');
    assert.equal(hook.beforeRead, undefined, 'the release came between the claim and the read');
    const again = await t.send('POST', '/doomed', 'released');
    assert.deepEqual([again.status, again.replayed, again.body], [201, null, { call: 2 }]);
  });

  it('releases the key after a server error, so that the retry runs again', async () => {
    const t = testApp();
    const failed = await t.send('POST', '/flaky', 'after-500');
    assert.deepEqual([failed.status, failed.body.code, failed.replayed], [500, 'INTERNAL_ERROR', null]);
    const retried = await t.send('POST', '/flaky', 'after-500');
    assert.deepEqual([retried.status, retried.replayed, retried.body], [201, null, { call: 2 }], 'the retry ran the handler');
    const replay = await t.send('POST', '/flaky', 'after-500');
    assert.deepEqual([replay.status, replay.replayed, replay.body], [201, 'true', { call: 2 }]);
  });

  it('releases the key when the handler throws something other than an Error', async () => {
    const t = testApp();
    await assert.rejects(t.send('POST', '/odd', 'odd-throw'), (err: unknown) => err === 'not an Error');
    const retried = await t.send('POST', '/odd', 'odd-throw');
    assert.deepEqual([retried.status, retried.replayed, retried.body], [201, null, { call: 2 }], 'the retry ran the handler');
  });

  it('purges expired keys once an hour, not on every request', async () => {
    const t = testApp();
    const start = Date.UTC(2026, 0, 1, 12);
    const keys = async () => (await store.db.selectFrom('idempotency_keys').select('idem_key').where('idem_key', 'like', 'purge-%').orderBy('idem_key').execute()).map((r) => r.idem_key);
    await t.send('POST', '/count', 'purge-first');
    // A key of another process's request, 25 hours old: expired since an hour.
    await store.db.insertInto('idempotency_keys').values({ key_id: 'key_9', idem_key: 'purge-stale', method: 'POST', path: '/count', request_hash: 'x', status_code: 201, response_body: '{}', content_type: 'application/json', created_at: new Date(start - 25 * HOUR).toISOString() }).execute();
    t.advance(59 * 60_000);
    await t.send('POST', '/count', 'purge-second');
    assert.deepEqual(await keys(), ['purge-first', 'purge-second', 'purge-stale'], 'no purge within the hour of the last one');
    t.advance(2 * 60_000);
    await t.send('POST', '/count', 'purge-third');
    assert.deepEqual(await keys(), ['purge-first', 'purge-second', 'purge-third'], 'purged an hour later');
  });

  it('keeps a key for 24 hours, then forgets it', async () => {
    const t = testApp();
    assert.equal((await t.send('POST', '/count', 'day', { v: 1 })).body.call, 1);
    t.advance(23 * HOUR);
    const within = await t.send('POST', '/count', 'day', { v: 1 });
    assert.deepEqual([within.replayed, within.body.call], ['true', 1], 'replayed 23 hours later');
    assert.equal((await t.send('POST', '/count', 'day', { v: 2 })).status, 409, 'and still bound to its body');
    t.advance(HOUR + 2 * 60_000);
    const later = await t.send('POST', '/count', 'day', { v: 2 });
    assert.deepEqual([later.status, later.replayed, later.body.call], [201, null, 2], 'a day later the key is free for another request');
  });
});
