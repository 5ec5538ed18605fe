import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase } from '../../test/helpers/app.ts';
import { createLogger } from '../logger.ts';
import { openStore, type Store } from '../store/store.ts';
import { createLimiter } from './limiter.ts';
import { createShares, shareOf } from './shares.ts';

const logger = createLogger('error');
const HEARTBEAT = 100;

async function until(check: () => boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('LLM limits shared between engine processes', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let store: Store;
  before(async () => {
    db = await freshDatabase();
    store = await openStore(db);
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('splits a limit in equal parts, the remainder to the oldest', () => {
    assert.deepEqual([0, 1].map((r) => shareOf(600, 2, r)), [300, 300]);
    assert.deepEqual([0, 1, 2].map((r) => shareOf(8, 3, r)), [3, 3, 2]);
    assert.deepEqual([0, 1, 2].map((r) => shareOf(2, 3, r)), [1, 1, 0]);
  });

  it('gives a lone process the whole limit, halves it when a second joins, and gives it back when that one leaves', async () => {
    const a = createShares({ store, id: 'worker-a', concurrency: 8, rpm: 600, logger, heartbeatMs: HEARTBEAT });
    await a.start();
    assert.deepEqual([a.concurrency(), a.rpm(), a.workers()], [8, 600, 1]);
    const b = createShares({ store, id: 'worker-b', concurrency: 8, rpm: 600, logger, heartbeatMs: HEARTBEAT, workerConcurrency: 3 });
    await b.start();
    // The newcomer waits until the others have seen it, so the sum never exceeds the limit.
    assert.equal(b.concurrency(), 0);
    assert.equal(b.rpm(), 0);
    await until(() => a.concurrency() === 4 && b.concurrency() === 3, 'both processes on their shares');
    assert.deepEqual([a.rpm(), b.rpm()], [300, 300]);
    await b.stop();
    await until(() => a.concurrency() === 8, 'the whole limit back');
    assert.equal(a.rpm(), 600);
    await a.stop();
  });

  it('counts a crashed process out once its registration expires', async () => {
    const a = createShares({ store, id: 'worker-c', concurrency: 10, logger, heartbeatMs: HEARTBEAT });
    await a.start();
    // A process that registered and died: its row expires on its own.
    await store.db.insertInto('engine_workers').values({ id: 'worker-dead', started_at: new Date(0).toISOString(), expires_at: new Date(Date.now() + 2000).toISOString() }).execute();
    await until(() => a.workers() === 2, 'the dead process seen');
    assert.equal(a.concurrency(), 5);
    await until(() => a.workers() === 1 && a.concurrency() === 10, 'the dead process expired');
    assert.equal(a.rpm(), undefined);
    await a.stop();
  });

  it('lets waiting calls through when the share grows', async () => {
    let limit = 1;
    const limiter = createLimiter({ concurrency: () => limit });
    let active = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const calls = Array.from({ length: 3 }, () =>
      limiter.run('openai', async () => {
        peak = Math.max(peak, ++active);
        await new Promise<void>((r) => release.push(r));
        active--;
      }),
    );
    await until(() => active === 1, 'one call in flight');
    limit = 3;
    limiter.pump();
    await until(() => active === 3, 'three calls in flight');
    release.forEach((r) => r());
    await until(() => release.length === 3 && active === 0, 'all calls done');
    await Promise.all(calls);
    assert.equal(peak, 3);
  });
});
