import { now, type Store } from '../store/store.ts';
import { finishItems, itemKeyOf, type ItemResult } from '../store/tasks.ts';
import type { CacheWrite, LlmCache } from './cache.ts';

type Pending = { result: ItemResult; cacheWrites: readonly CacheWrite[]; resolve(written: boolean): void; reject(err: unknown): void };

const MAX_BATCH = 500;

/**
 * Group commit of the engine's results: results are queued and written by one transaction at a
 * time, each taking everything queued meanwhile (finishItems: two statements for the whole batch,
 * plus the batch's cache entries). Under load a commit carries tens of cells instead of one, which
 * keeps the database (and SQLite's single connection) from being the engine's bottleneck. `write`
 * resolves false when the item was no longer held by `owner` (cancelled, or its lease taken over).
 */
export function createGroupCommit({
  store,
  cache,
  owner,
  lingerMs = store.dialect === 'postgres' ? 10 : 4,
  lingerUntil = store.dialect === 'postgres' ? Infinity : 32,
}: {
  store: Store;
  cache: LlmCache;
  owner: string;
  /** How long a commit waits for more results before it starts. */
  lingerMs?: number;
  /** The wait ends as soon as this many results are queued. */
  lingerUntil?: number;
}) {
  const queue: Pending[] = [];
  let flushing = false;
  /** Ends the linger early (see lingerUntil). */
  let full: (() => void) | undefined;

  async function flush() {
    flushing = true;
    // A commit that starts at once carries one cell; waiting a few milliseconds lets the cells
    // finishing around it share it. The wait holds no LLM slot: the claim capacity no longer counts
    // an item once its result is queued here.
    // PostgreSQL: 2 workers' speed-up 1.70x -> 1.88x.
    // SQLite: a commit (with the row documents, their indexes and cell_meta of issue 13) costs
    // about 0.25 ms of CPU plus a few statements: results trickling in one by one from the LLM
    // shared a commit each, a third of the engine's CPU in the throughput bench. A cached re-run's
    // results come in bursts of a claim: the wait ends as soon as `lingerUntil` are queued, so
    // those do not wait.
    if (lingerMs > 0 && queue.length < lingerUntil) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => ((full = undefined), resolve()), lingerMs);
        full = () => (clearTimeout(timer), (full = undefined), resolve());
      });
    }
    while (queue.length) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        const written = await retryTransient(() =>
          store.transaction(async (trx) => {
            await cache.putMany(trx, batch.flatMap((b) => b.cacheWrites));
            return finishItems(trx, owner, batch.map((b) => b.result), now());
          }),
        );
        cache.forget(batch.flatMap((b) => b.cacheWrites));
        for (const b of batch) b.resolve(written.has(itemKeyOf(b.result.key)));
      } catch (err) {
        // Their answers are not stored: other processes waiting on those requests may ask themselves.
        cache.release(batch.flatMap((b) => b.cacheWrites));
        for (const b of batch) b.reject(err);
      }
    }
    flushing = false;
  }

  return {
    write(result: ItemResult, cacheWrites: readonly CacheWrite[] = []): Promise<boolean> {
      return new Promise((resolve, reject) => {
        queue.push({ result, cacheWrites, resolve, reject });
        if (!flushing) void flush();
        else if (full && queue.length >= lingerUntil) full();
      });
    },
  };
}

/**
 * PostgreSQL may abort a transaction that waited in a lock cycle (40P01) or lost a serialisation
 * race (40001); nothing of it was written, so running it again is safe and is what the batch
 * needs: failing it would mark a whole batch of finished cells as errors.
 */
async function retryTransient<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (i >= attempts || (code !== '40P01' && code !== '40001')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 5 * i + Math.random() * 10));
    }
  }
}
