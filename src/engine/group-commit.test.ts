import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { claimedBy } from '../../test/helpers/leases.ts';
import { freshDatabase, testBackend } from '../../test/helpers/app.ts';
import { findCell } from '../store/rows.ts';
import { openStore, type Store } from '../store/store.ts';
import { claimItems, type ClaimedItem, type ItemKey, type ItemResult } from '../store/tasks.ts';
import { createLlmCache, type CacheWrite } from './cache.ts';
import { createGroupCommit } from './group-commit.ts';

// The engine's write path on the backend of this run: results queued by many cells are written in
// shared transactions, each only while the worker still holds the item, with the batch's cache entries.
const usage = { llmCalls: 1, cachedCalls: 0, inputTokens: 3, outputTokens: 2, costUsd: 0.0001 };
const result = (key: ItemKey, value: string): ItemResult => ({ key, status: 'done', usage, cell: { value, status: 'done', metadata: { by: value } } });

describe(`group commit: ${testBackend().kind}`, () => {
  let store: Store;
  let drop: () => Promise<void>;
  /** Transactions begun through the store, and errors the next ones fail with (one each). */
  let transactions = 0;
  let failNext = false;
  let failures: Error[] = [];
  let counted: Store;
  before(async () => {
    const db = await freshDatabase();
    store = await openStore(db);
    drop = db.drop;
    counted = {
      ...store,
      transaction(fn) {
        transactions++;
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('database gone'));
        }
        const failure = failures.shift();
        if (failure) return Promise.reject(failure);
        return store.transaction(fn);
      },
    };
  });
  after(async () => {
    await store.close();
    await drop();
  });

  it('writes only what the owner still holds, with the batch\'s cache entries, and tells each writer', async () => {
    const { ws, ds, items } = await claimedBy(store, 'A', 3);
    const [lost, kept, also] = items as [ClaimedItem, ClaimedItem, ClaimedItem];
    await store.db.updateTable('task_items').set({ lease_until: '2026-01-01T01:00:00.000Z' }).where('row_id', 'in', [kept.rowId, also.rowId]).execute();
    assert.equal((await claimItems(store.db, { owner: 'B', limit: 10, leaseUntil: '2026-01-01T02:00:00.000Z', now: '2026-01-01T00:10:00.000Z' })).length, 1, 'B takes the expired item');
    const cache = createLlmCache(store);
    const entry = (key: string): CacheWrite => ({ workspaceId: ws, key, response: { text: key, usage: { inputTokens: 1, outputTokens: 1 }, model: 'm' } });
    const commit = createGroupCommit({ store, cache, owner: 'A', lingerMs: 0 });
    const written = await Promise.all([commit.write(result(lost, 'late')), commit.write(result(kept, 'kept'), [entry('k1')]), commit.write(result(also, 'also'), [entry('k2')])]);
    assert.deepEqual(written, [false, true, true]);
    const values = await Promise.all(items.map(async (k) => (await findCell(store.db, ds, k.rowId, k.columnId))!.value));
    assert.deepEqual(values, [null, 'kept', 'also']);
    assert.equal((await cache.get(ws, 'k1'))?.text, 'k1');
    assert.equal((await createLlmCache(store).get(ws, 'k2'))?.text, 'k2', 'in the database, not only remembered');
  });

  it('cells finishing together share one transaction: those queued during the linger, and during a commit', async () => {
    const { items } = await claimedBy(store, 'A', 6);
    const cache = createLlmCache(store);
    transactions = 0;
    const lingering = createGroupCommit({ store: counted, cache, owner: 'A', lingerMs: 50 });
    assert.deepEqual(await Promise.all(items.slice(0, 3).map((k) => lingering.write(result(k, 'x')))), [true, true, true]);
    assert.equal(transactions, 1, 'three writes within the linger: one commit');
    transactions = 0;
    const atOnce = createGroupCommit({ store: counted, cache, owner: 'A', lingerMs: 0 });
    assert.deepEqual(await Promise.all(items.slice(3).map((k) => atOnce.write(result(k, 'y')))), [true, true, true]);
    assert.equal(transactions, 2, 'the first write commits at once; the two queued meanwhile share the next');
  });

  it('the linger ends as soon as lingerUntil results are queued: a burst (a claim answered from the cache) does not wait', async () => {
    const { items } = await claimedBy(store, 'A', 4);
    transactions = 0;
    const commit = createGroupCommit({ store: counted, cache: createLlmCache(store), owner: 'A', lingerMs: 10_000, lingerUntil: 3 });
    const started = Date.now();
    assert.deepEqual(await Promise.all(items.slice(0, 3).map((k) => commit.write(result(k, 'burst')))), [true, true, true]);
    assert.ok(Date.now() - started < 5_000, `waited ${Date.now() - started} ms`);
    assert.equal(transactions, 1, 'the burst shares one commit');
    // Fewer than lingerUntil: the write waits out the linger .
    const short = createGroupCommit({ store: counted, cache: createLlmCache(store), owner: 'A', lingerMs: 30, lingerUntil: 3 });
    const alone = Date.now();
    assert.equal(await short.write(result(items[3]!, 'alone')), true);
    assert.ok(Date.now() - alone >= 25, 'a lone result lingers');
  });

  it('a failed commit rejects every write of its batch, and the next writes still go through', async () => {
    const { ds, items } = await claimedBy(store, 'A', 3);
    const commit = createGroupCommit({ store: counted, cache: createLlmCache(store), owner: 'A', lingerMs: 20 });
    failNext = true;
    const failed = await Promise.allSettled([commit.write(result(items[0]!, 'a')), commit.write(result(items[1]!, 'b'))]);
    assert.deepEqual(failed.map((f) => f.status), ['rejected', 'rejected']);
    assert.equal(await commit.write(result(items[2]!, 'c')), true);
    assert.equal((await findCell(store.db, ds, items[2]!.rowId, items[2]!.columnId))!.value, 'c');
    assert.equal((await findCell(store.db, ds, items[0]!.rowId, items[0]!.columnId))!.value, null);
  });

  it('splits a long queue into transactions of at most 500 results', async () => {
    const { items } = await claimedBy(store, 'A', 501);
    transactions = 0;
    const commit = createGroupCommit({ store: counted, cache: createLlmCache(store), owner: 'A', lingerMs: 20 });
    const written = await Promise.all(items.map((k) => commit.write(result(k, 'z'))));
    assert.equal(written.filter(Boolean).length, 501);
    assert.equal(transactions, 2);
  });

  /** An error as PostgreSQL reports it: SQLSTATE in `code`. */
  const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

  it('a commit PostgreSQL aborted as a deadlock or a serialisation failure runs again; other errors and a fourth abort fail the batch', async () => {
    const { ds, items } = await claimedBy(store, 'A', 3);
    const commit = createGroupCommit({ store: counted, cache: createLlmCache(store), owner: 'A', lingerMs: 0 });
    transactions = 0;
    failures = [pgError('40P01'), pgError('40001')];
    assert.equal(await commit.write(result(items[0]!, 'retried')), true);
    assert.equal(transactions, 3, 'two aborts, then the commit');
    assert.equal((await findCell(store.db, ds, items[0]!.rowId, items[0]!.columnId))!.value, 'retried');
    transactions = 0;
    failures = [pgError('23505')];
    await assert.rejects(commit.write(result(items[1]!, 'x')), /sqlstate 23505/);
    assert.equal(transactions, 1, 'not a transient error: not run again');
    transactions = 0;
    failures = [pgError('40P01'), pgError('40P01'), pgError('40P01'), pgError('40P01')];
    await assert.rejects(commit.write(result(items[2]!, 'y')), /sqlstate 40P01/);
    assert.equal(transactions, 4, 'four attempts in all');
    failures = [];
    assert.equal((await findCell(store.db, ds, items[2]!.rowId, items[2]!.columnId))!.value, null);
  });

  it("a committed batch hands its answers' claims to forget, a failed one to release", async () => {
    const { ws, items } = await claimedBy(store, 'A', 3);
    const real = createLlmCache(store);
    const calls: [string, string[]][] = [];
    const cache = { ...real, forget: (e: readonly CacheWrite[]) => (calls.push(['forget', e.map((x) => x.key)]), real.forget(e)), release: (e: readonly { workspaceId: string; key: string }[]) => (calls.push(['release', e.map((x) => x.key)]), real.release(e)) };
    const entry = (key: string): CacheWrite => ({ workspaceId: ws, key, response: { text: key, usage: { inputTokens: 1, outputTokens: 1 }, model: 'm' } });
    const commit = createGroupCommit({ store: counted, cache, owner: 'A', lingerMs: 20 });
    assert.deepEqual(await Promise.all([commit.write(result(items[0]!, 'a'), [entry('f1')]), commit.write(result(items[1]!, 'b'), [entry('f2'), entry('f3')])]), [true, true]);
    assert.deepEqual(calls, [['forget', ['f1', 'f2', 'f3']]]);
    calls.length = 0;
    failNext = true;
    await assert.rejects(commit.write(result(items[2]!, 'c'), [entry('r1')]));
    assert.deepEqual(calls, [['release', ['r1']]]);
    assert.equal(await real.get(ws, 'r1'), undefined, 'a failed batch stores no answer');
  });
});
