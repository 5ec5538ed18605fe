import type { Logger } from '../logger.ts';
import type { Store } from '../store/store.ts';
import { heartbeatWorker, removeWorker, type WorkerRecord } from '../store/workers.ts';

/**
 * Per-provider LLM limits (CELLWISE_LLM_CONCURRENCY, CELLWISE_LLM_RPM) shared by every engine
 * process of a deployment. Each process registers in engine_workers and takes an equal share of
 * each limit (the remainder goes to the oldest processes), so the sum over processes never exceeds
 * the limit and no call needs a round trip to the database.
 *
 * - Joining: a process that finds others already registered waits one heartbeat and a half before
 *   using its share, by which time every other process has seen it and lowered its own share.
 * - Leaving: a stopping process deletes its row; a crashed one's row expires after `ttlMs`. The
 *   others raise their shares only after that, when the process is gone.
 * - Fencing: a process that cannot renew its row (database unreachable, long pause) uses no share
 *   once the row it last wrote has expired, since the others may already have counted it out.
 *
 * The trade-off: an idle process keeps its share. Limits are split by process, not by demand.
 */
export type Shares = {
  /** LLM calls in flight per provider this process may make now (0 while joining or fenced). */
  concurrency(): number;
  /** Requests per minute per provider for this process now; undefined = unlimited. */
  rpm(): number | undefined;
  /** Live engine processes, this one included, as of the last heartbeat. */
  workers(): number;
  /** Registers and starts the heartbeat; resolves once the first heartbeat is written. */
  start(): Promise<void>;
  /** Stops the heartbeat and deregisters. */
  stop(): Promise<void>;
};

export type SharesOptions = {
  store: Store;
  id: string;
  concurrency: number;
  rpm?: number | undefined;
  /** A cap of this process's own (CELLWISE_WORKER_CONCURRENCY), below its share. */
  workerConcurrency?: number | undefined;
  heartbeatMs?: number;
  logger: Logger;
  /** Called when this process's share changes (the limiter wakes waiting calls). */
  onChange?: () => void;
};

/** share of `limit` for the process at `rank` among `n`: equal parts, the remainder to the lowest ranks. */
export function shareOf(limit: number, n: number, rank: number): number {
  return Math.floor(limit / n) + (rank < limit % n ? 1 : 0);
}

export function createShares(o: SharesOptions): Shares {
  const heartbeatMs = o.heartbeatMs ?? 2000;
  const ttlMs = heartbeatMs * 4;
  const startedAt = new Date().toISOString();
  let members: WorkerRecord[] = [];
  let readyAt = Infinity;
  let validUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  let last = '';

  const usable = () => Date.now() >= readyAt && Date.now() < validUntil;
  const rank = () => Math.max(0, members.findIndex((m) => m.id === o.id));
  const n = () => Math.max(1, members.length);

  async function beat() {
    const at = Date.now();
    const expiresAt = new Date(at + ttlMs);
    try {
      members = await heartbeatWorker(o.store.db, { id: o.id, startedAt, expiresAt: expiresAt.toISOString() }, new Date(at).toISOString());
      // Our row is valid until it expires for the others; stop a heartbeat short of that.
      validUntil = at + ttlMs - heartbeatMs;
      if (readyAt === Infinity) readyAt = members.length > 1 ? at + heartbeatMs * 1.5 : at;
    } catch (err) {
      o.logger.warn('worker heartbeat failed', { error: String(err) });
    }
    const now = `${shares.concurrency()}/${shares.rpm() ?? '-'}`;
    if (now !== last) {
      last = now;
      o.onChange?.();
    }
  }

  const shares: Shares = {
    concurrency() {
      if (!usable()) return 0;
      return Math.min(o.workerConcurrency ?? Infinity, shareOf(o.concurrency, n(), rank()));
    },
    rpm() {
      if (o.rpm === undefined) return undefined;
      return usable() ? shareOf(o.rpm, n(), rank()) : 0;
    },
    workers: n,
    async start() {
      if (timer) return;
      timer = setInterval(() => void beat(), heartbeatMs);
      timer.unref();
      await beat();
      // A joining process becomes usable between heartbeats: tell the limiter then.
      if (readyAt > Date.now() && readyAt !== Infinity) setTimeout(() => void beat(), readyAt - Date.now()).unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      readyAt = Infinity;
      await removeWorker(o.store.db, o.id).catch((err: unknown) => o.logger.warn('worker deregistration failed', { error: String(err) }));
    },
  };
  return shares;
}
