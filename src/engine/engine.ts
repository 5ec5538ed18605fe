import { randomBytes } from 'node:crypto';
import { cellId } from '../ids.ts';
import os from 'node:os';
import type { Config } from '../config.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../logger.ts';
import { LlmError } from '../providers/llm/llm.ts';
import type { LlmRegistry } from '../providers/llm/registry.ts';
import { listColumns, type ColumnRecord } from '../store/columns.ts';
import { findDataset, updateDataset, type DatasetRecord } from '../store/datasets.ts';
import { cellsInRange } from '../store/rows.ts';
import { columnOfCell } from '../store/row-cells.ts';
import { appendRows } from '../features/datasets/grid.ts';
import { stages, withRowDependencies } from './dependencies.ts';
import { requestFingerprint } from './fingerprint.ts';
import { EXAMPLE_ROWS, generateRows, ROWS_PER_BATCH, SHORTFALL_ROUNDS } from './new-rows.ts';
import { now, type Store } from '../store/store.ts';
import * as tasksDb from '../store/tasks.ts';
import { createFlights, createLlmCache, createLlmClient, emptyTally, type CacheWrite, type CallTally } from './cache.ts';
import { CellError, withReviewerFeedback, type ExecutionResult, type RejectedAnswer } from './executor.ts';
import { rejectedReviews, type PendingRejection } from '../store/review.ts';
import type { Executors } from './executors/index.ts';
import { createLimiter } from './limiter.ts';
import { createShares } from './shares.ts';
import { createGroupCommit } from './group-commit.ts';

export type EngineConfig = Pick<Config, 'model' | 'llmConcurrency' | 'llmRpm' | 'llmMaxAttempts' | 'taskLeaseMs' | 'workerConcurrency'>;
export type EngineDeps = {
  store: Store;
  events: EventBus;
  live: EventBus;
  registry: LlmRegistry;
  executors: Executors;
  config: EngineConfig;
  logger: Logger;
  pollMs?: number;
  sharesHeartbeatMs?: number;
  /** Every cell result this process wrote (metrics): its column's task type, outcome and LLM usage. */
  onCell?: (taskType: string, outcome: string, usage: tasksDb.ItemUsage & { model?: string }) => void;
};
type TaskContext = { task: tasksDb.TaskRecord; dataset: DatasetRecord; columns: ColumnRecord[]; maxCostUsd?: number; examples?: Promise<Record<string, unknown>[]> };
/** An item in hand; `writing` once its result waits for the group commit (it then no longer holds a claim slot). */
type Inflight = { item: tasksDb.ClaimedItem; controller: AbortController; done: Promise<void>; writing?: boolean };
type RowCells = { columnId: string; value: unknown; status: string }[];
/** A claim's rows, and the cells of it a reviewer rejected (by cell id): their notes go to the model. */
type Prepared = { rows: Map<string, RowCells>; rejected: Map<string, PendingRejection> };
type Failure = { code: string; message: string; retryable: boolean; retryAfterMs?: number };

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30_000;

/** Exponential backoff with jitter (50-100% of the step), or the provider's Retry-After when longer. */
export function backoffMs(attempt: number, retryAfterMs?: number): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.max(Math.round(step * (0.5 + Math.random() / 2)), retryAfterMs ?? 0);
}

/**
 * The in-process worker: claims due items (see store/tasks.ts claimItems), runs each through its
 * task type's executor, and writes the result only while it still holds the item's lease. Items are
 * claimed up to twice the LLM concurrency so that the next one is ready when a call returns; the
 * limiter bounds the calls themselves. A heartbeat renews the leases of items in hand.
 */
export function createEngine(deps: EngineDeps) {
  const { store, config, logger } = deps;
  const owner = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  // This process's share of the deployment's LLM limits; it bounds both the calls and the claims.
  const shares = createShares({ store, id: owner, concurrency: config.llmConcurrency, rpm: config.llmRpm, workerConcurrency: config.workerConcurrency, logger, onChange: () => (limiter.pump(), wake()), ...(deps.sharesHeartbeatMs ? { heartbeatMs: deps.sharesHeartbeatMs } : {}) });
  const limiter = createLimiter({ concurrency: () => shares.concurrency(), rpm: () => shares.rpm() });
  // On PostgreSQL the cache also claims requests in flight across engine processes, as `owner`.
  const cache = createLlmCache(store, { owner, onError: (err) => logger.warn('claiming or releasing an LLM request failed', { error: String(err) }) });
  // Answers go to the cache in the transaction that writes their cell (see `write` below).
  // Identical requests in flight at once share one call (see createLlmClient).
  const clientDeps = { registry: deps.registry, cache, limiter, deferCacheWrites: true, flights: createFlights(), onCacheError: (err: unknown) => logger.warn('llm cache write failed', { error: String(err) }) };
  const groupCommit = createGroupCommit({ store, cache, owner });
  /** Per task: LLM spend of results queued for the group commit and not yet in the database. */
  const uncommitted = new Map<string, { costUsd: number; llmCalls: number }>();
  const inflight = new Map<string, Inflight>();
  /** Items in flight whose result is written: they no longer count as work left in this process. */
  const finished = new Set<string>();
  const contexts = new Map<string, Promise<TaskContext | undefined>>();
  const started = new Set<string>();
  const lastProgress = new Map<string, number>();
  let stopping = false;
  let wakeUp: (() => void) | undefined;
  let woken = false;
  let loop: Promise<void> | undefined;
  let heartbeat: NodeJS.Timeout | undefined;

  const leaseUntil = () => new Date(Date.now() + config.taskLeaseMs).toISOString();
  const keyOf = tasksDb.itemKeyOf;

  function wake() {
    woken = true;
    wakeUp?.();
  }

  async function rest(ms: number) {
    if (woken) return void (woken = false);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wakeUp = undefined;
    woken = false;
  }

  async function run() {
    await shares.start();
    while (!stopping) {
      const share = shares.concurrency();
      const batch = Math.max(1, share);
      const free = share * 2 - working();
      let claimed: tasksDb.ClaimedItem[] = [];
      // Claim in batches of half the capacity: one claim per finished item would spend a
      // statement (and on SQLite the single connection) per item.
      if (free >= batch || (free > 0 && working() === 0)) {
        try {
          claimed = await tasksDb.claimItems(store.db, { owner, limit: free, leaseUntil: leaseUntil(), now: now() });
        } catch (err) {
          logger.error('claiming task items failed', { error: String(err) });
        }
      }
      let prepared: Prepared = { rows: new Map(), rejected: new Map() };
      if (claimed.length) {
        await announceStarts(claimed);
        try {
          prepared = await prepareClaimed(claimed);
        } catch (err) {
          // The items stay leased to us; they are processed without the prefetch, or expire.
          logger.error('preparing claimed items failed', { error: String(err) });
        }
      }
      for (const item of claimed) {
        const controller = new AbortController();
        const entry: Inflight = { item, controller, done: Promise.resolve() };
        inflight.set(keyOf(item), entry);
        entry.done = processItem(item, controller.signal, prepared.rows.get(item.rowId), prepared.rejected.get(cellId(item.rowId, item.columnId)))
          .catch((err: unknown) => logger.error('task item failed unexpectedly', { ...item, error: String(err) }))
          .finally(() => {
            inflight.delete(keyOf(item));
            finished.delete(keyOf(item));
            wake();
          });
      }
      if (!claimed.length || shares.concurrency() * 2 - working() < batch) await rest(deps.pollMs ?? 250);
    }
  }

  /**
   * One claim's cells go `processing` in one read and write of their rows, and the rows as written
   * are the executors' view: a claimed item's lower stages in its row are finished (the claim's
   * condition) and the dataset is locked, so those are the values the executor must see.
   */
  async function prepareClaimed(items: tasksDb.ClaimedItem[]): Promise<Prepared> {
    const cellItems = items.filter((i) => i.columnId !== tasksDb.GENERATE_COLUMN);
    if (!cellItems.length) return { rows: new Map(), rejected: new Map() };
    const stored = await tasksDb.markClaimedProcessing(store.db, owner, cellItems, now());
    const rejected = await rejectedReviews(store.db, cellItems);
    const rows = new Map<string, RowCells>();
    for (const [id, cells] of stored) rows.set(id, cells.map((c) => ({ columnId: columnOfCell(c.cellId), value: c.value, status: c.status })));
    return { rows, rejected };
  }

  /**
   * Items claimed and not yet written: what the claim capacity (twice the LLM share) counts. An
   * item waiting for the group commit has done its call, so it leaves room for the next claim;
   * otherwise slow commits would starve the LLM of work.
   */
  function working(): number {
    let n = 0;
    for (const f of inflight.values()) if (!f.writing) n++;
    return n;
  }

  function write(result: tasksDb.ItemResult, cacheWrites: CacheWrite[] = []): Promise<boolean> {
    const entry = inflight.get(keyOf(result.key));
    if (entry && !entry.writing) {
      entry.writing = true;
      wake();
    }
    // Spend not yet committed still counts against maxCostUsd (see overBudget).
    const spend = uncommitted.get(result.key.taskId) ?? { costUsd: 0, llmCalls: 0 };
    uncommitted.set(result.key.taskId, { costUsd: spend.costUsd + result.usage.costUsd, llmCalls: spend.llmCalls + result.usage.llmCalls });
    const written = groupCommit.write(result, cacheWrites);
    if (deps.onCell) {
      const onCell = deps.onCell;
      const context = contexts.get(result.key.taskId);
      void written
        .then(async (ok) => {
          if (!ok) return;
          const column = (await context)?.columns.find((c) => c.id === result.key.columnId);
          onCell(column?.taskType ?? (result.key.columnId === tasksDb.GENERATE_COLUMN ? 'generate_rows' : 'unknown'), result.status, result.usage);
        })
        .catch(() => {});
    }
    return written.finally(() => {
      const left = uncommitted.get(result.key.taskId);
      if (!left) return;
      left.costUsd -= result.usage.costUsd;
      left.llmCalls -= result.usage.llmCalls;
      if (left.llmCalls <= 0) uncommitted.delete(result.key.taskId);
    });
  }

  async function announceStarts(items: tasksDb.ClaimedItem[]) {
    const fresh = [...new Set(items.map((i) => i.taskId))].filter((id) => !started.has(id));
    if (!fresh.length) return;
    fresh.forEach((id) => started.add(id));
    for (const id of await tasksDb.markTasksStarted(store.db, fresh, now())) {
      const ctx = await context(id);
      if (ctx) publishTask(ctx, 'dataset.task.started', { ...ctx.task, status: 'processing' });
    }
  }

  function context(taskId: string): Promise<TaskContext | undefined> {
    let ctx = contexts.get(taskId);
    if (!ctx) {
      // The dataset is locked while its task runs, so its columns cannot change under us.
      ctx = (async () => {
        const task = await tasksDb.findTaskById(store.db, taskId);
        const dataset = task && (await findDataset(store.db, task.workspaceId, task.datasetId));
        if (!task || !dataset) return undefined;
        const max = task.params.maxCostUsd;
        // Whole-row reads are dependencies too: they decide what a cell reads and lists as `inputs`.
        return { task, dataset, columns: withRowDependencies(await listColumns(store.db, dataset.id)), ...(typeof max === 'number' ? { maxCostUsd: max } : {}) };
      })();
      contexts.set(taskId, ctx);
      ctx.catch(() => contexts.delete(taskId));
    }
    return ctx;
  }

  async function processItem(item: tasksDb.ClaimedItem, signal: AbortSignal, prefetched?: RowCells, pending?: PendingRejection) {
    const ctx = await context(item.taskId);
    const column = ctx?.columns.find((c) => c.id === item.columnId);
    if (!ctx) return; // the dataset was deleted: its items went with it
    if (item.columnId === tasksDb.GENERATE_COLUMN) return generateBatch(ctx, item, signal);
    if (!column || !prefetched) {
      // The column is gone, or the row could not be read: never keep an item leased forever.
      if (await tasksDb.finishItem(store.db, item, owner, 'failed', emptyTally())) await afterItem(ctx, item);
      return;
    }
    publishCell(ctx, item, 'processing', null);
    if (ctx.maxCostUsd !== undefined && (await overBudget(ctx, item))) return;
    const tally = emptyTally();
    let result: ExecutionResult;
    // A rejected answer (its value is still in the row, unless a failed re-run emptied it) goes
    // back to the model with the reviewer's note.
    const rejected: RejectedAnswer | undefined = pending ? { value: 'rejectedValue' in pending ? pending.rejectedValue : (prefetched.find((c) => c.columnId === item.columnId)?.value ?? null), note: pending.review.note } : undefined;
    try {
      const cells = prefetched;
      const row: Record<string, unknown> = {};
      const byId = new Map(cells.map((c) => [c.columnId, c]));
      for (const c of ctx.columns) row[c.id] = row[c.name] = byId.get(c.id)?.value ?? null;
      const failedDep = column.dependsOn.find((d) => byId.get(d)?.status === 'error');
      if (failedDep) throw new CellError('DEPENDENCY_FAILED', `Column ${ctx.columns.find((c) => c.id === failedDep)?.name ?? failedDep} of this row is in error`);
      const executor = deps.executors[column.taskType];
      if (!executor) throw new CellError('NOT_IMPLEMENTED', `Task type ${column.taskType} has no executor`);
      const client = createLlmClient({ ...clientDeps, taskId: item.taskId }, ctx.task.workspaceId, tally, signal);
      const llm = rejected ? withReviewerFeedback(client, rejected, column.name) : client;
      result = await executor.execute({ workspaceId: ctx.task.workspaceId, taskId: item.taskId, dataset: ctx.dataset, column, columns: ctx.columns, row, llm, defaultModel: config.model, signal, ...(rejected ? { rejected } : {}) });
    } catch (err) {
      if (!(err instanceof LlmError) && !(err instanceof CellError)) logger.error('executor failed', { ...item, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      return onFailure(ctx, item, tally, toFailure(err), signal, pending && rejected ? { review: pending.review, rejectedValue: rejected.value } : undefined);
    }
    const read = ctx.columns.filter((c) => column.dependsOn.includes(c.id));
    const threshold = column.metadata.confidence;
    const confidence = result.metadata?.confidence;
    const metadata: Record<string, unknown> = {
      ...result.metadata,
      ...(tally.model ? { model: tally.model } : {}),
      usage: { inputTokens: tally.answeredInput, outputTokens: tally.answeredOutput },
      costUsd: Math.round(tally.costUsd * 1e10) / 1e10,
      cached: tally.cachedCalls > 0 && tally.llmCalls === 0,
      ...(tally.cachedCalls > 0 && tally.cachedFrom ? { cachedFrom: tally.cachedFrom } : {}),
      // Lineage: the cells this answer rests on, and the fingerprint of what was asked (staleness).
      inputs: read.map((c) => ({ columnId: c.id, cellId: cellId(item.rowId, c.id) })),
      fingerprint: requestFingerprint(column, read.map((c) => prefetched.find((p) => p.columnId === c.id)?.value ?? null), ctx.columns),
      taskId: item.taskId,
      processedAt: now(),
      attempts: item.attempts,
      ...(typeof threshold === 'number' && typeof confidence === 'number' && confidence < threshold ? { needsReview: true } : {}),
    };
    const written = await write({ key: item, status: 'done', usage: tally, cell: { value: result.value ?? null, status: 'done', metadata } }, tally.cacheWrites);
    if (written) publishCell(ctx, item, 'done', result.value ?? null);
    // Refused (cancelled meanwhile): the answer is discarded, its calls were still paid for.
    else if (tally.llmCalls > 0) await chargeDiscarded(ctx, item, tally);
    await afterItem(ctx, item);
  }

  async function onFailure(ctx: TaskContext, item: tasksDb.ClaimedItem, tally: CallTally, failure: Failure, signal: AbortSignal, rejected?: PendingRejection) {
    if (tally.cacheWrites?.length && (signal.aborted || (failure.retryable && item.attempts < config.llmMaxAttempts))) {
      // Answers already paid for are kept even though the item goes back to the queue or was
      // cancelled (storing them also releases their claims: other processes may be waiting).
      await cache.putMany(store.db, tally.cacheWrites).then(() => cache.forget(tally.cacheWrites!), clientDeps.onCacheError);
    }
    if (signal.aborted) {
      // Cancelled: the cancel already took the item. Stopping: hand it back without using up an attempt.
      if (stopping && (await holdsCell(item, 'queued'))) await tasksDb.releaseItem(store.db, item, owner, now(), true, tally);
      // Requests the provider got are spent even though their answers are discarded (usage counts them).
      else if (tally.llmCalls > 0) await chargeDiscarded(ctx, item, tally);
      return;
    }
    if (failure.retryable && item.attempts < config.llmMaxAttempts) {
      const delay = backoffMs(item.attempts, failure.retryAfterMs);
      if (await holdsCell(item, 'queued')) {
        await tasksDb.releaseItem(store.db, item, owner, new Date(Date.now() + delay).toISOString(), false, tally);
        publishCell(ctx, item, 'queued', null);
        setTimeout(wake, delay).unref();
      }
      return;
    }
    // Requests that reached the provider are charged to the task even when the cell ends in error:
    // usage.llmCalls is what the provider received (see createLlmClient).
    // A failed re-run of a rejected cell keeps the rejection (with its note) for the next attempt.
    const review = rejected ?? {};
    const metadata = { error: { code: failure.code, message: failure.message, retryable: failure.retryable }, ...(tally.model ? { model: tally.model } : {}), costUsd: Math.round(tally.costUsd * 1e10) / 1e10, cached: false, taskId: item.taskId, processedAt: now(), attempts: item.attempts, ...review };
    const generation = item.columnId === tasksDb.GENERATE_COLUMN;
    const written = await write({ key: item, status: 'failed', usage: tally, ...(generation ? {} : { cell: { value: null, status: 'error', metadata } }) }, tally.cacheWrites);
    if (written && generation) await tasksDb.setTaskError(store.db, item.taskId, `Some rows could not be generated: ${failure.message}`);
    if (written) publishCell(ctx, item, 'error', null);
    else if (tally.llmCalls > 0) await chargeDiscarded(ctx, item, tally);
    await afterItem(ctx, item);
  }

  /** Adds a cancelled item's spend to it and to its task (the cancel already summed the task's usage). */
  async function chargeDiscarded(ctx: TaskContext, item: tasksDb.ClaimedItem, tally: CallTally) {
    try {
      await store.transaction(async (trx) => {
        await store.lockDataset(trx, ctx.dataset.id);
        await tasksDb.addItemUsage(trx, item, tally);
      });
    } catch (err) {
      logger.warn('charging a discarded call failed', { ...item, error: String(err) });
    }
  }

  /** Sets the held item's cell status; a generation item has no cell, so holding the item is enough. */
  async function holdsCell(item: tasksDb.ClaimedItem, status: string): Promise<boolean> {
    if (item.columnId === tasksDb.GENERATE_COLUMN) return true;
    return tasksDb.setHeldCellStatus(store.db, item, owner, status, now());
  }

  /**
   * One batch of a new-rows task: the LLM writes the rows (see new-rows.ts); then, in one
   * transaction that still holds the batch's lease, the rows are appended with their cells and
   * their computed cells are queued as items of the same task.
   */
  async function generateBatch(ctx: TaskContext, item: tasksDb.ClaimedItem, signal: AbortSignal) {
    if (ctx.maxCostUsd !== undefined && (await overBudget(ctx, item))) return;
    const params = ctx.task.params as { rowCount: number; model?: string };
    const batch = tasksDb.generationBatch(item.rowId);
    const raw = ctx.columns.filter((c) => c.taskType === 'raw');
    const computed = ctx.columns.filter((c) => c.taskType !== 'raw');
    const tally = emptyTally();
    let values: unknown[][];
    try {
      ctx.examples ??= cellsInRange(store.db, ctx.dataset.id, 0, EXAMPLE_ROWS, { columnIds: raw.map((c) => c.id), metadata: false }).then((cells) => {
        const rows = new Map<string, Record<string, unknown>>();
        const names = new Map(raw.map((c) => [c.id, c.name]));
        for (const cell of cells) (rows.get(cell.rowId) ?? rows.set(cell.rowId, {}).get(cell.rowId)!)[names.get(cell.columnId)!] = cell.value;
        return [...rows.values()];
      });
      const llm = createLlmClient({ ...clientDeps, taskId: item.taskId }, ctx.task.workspaceId, tally, signal);
      const count = Math.min(ROWS_PER_BATCH, params.rowCount - batch * ROWS_PER_BATCH);
      const input = { taskId: item.taskId, batch, batches: Math.ceil(params.rowCount / ROWS_PER_BATCH), count, columns: raw, examples: await ctx.examples, datasetName: ctx.dataset.name, description: ctx.dataset.description, modelId: params.model ?? config.model };
      values = await generateRows(llm, input);
      // The model may answer with fewer rows than asked (the schema allows it): ask again for the
      // shortfall, a bounded number of times, never keeping a row twice. What is still missing
      // after that is reported by the task (`added` < `requested`, and its error).
      for (let round = 1; values.length < count && round <= SHORTFALL_ROUNDS; round++) {
        // A failed round keeps the rows already written (only a cancel gives them up).
        const more = await generateRows(llm, { ...input, count: count - values.length, round, written: values }).catch((err: unknown) => {
          if (signal.aborted) throw err;
          return [];
        });
        if (!more.length) break;
        values = [...values, ...more];
      }
    } catch (err) {
      if (!(err instanceof LlmError) && !(err instanceof CellError)) logger.error('row generation failed', { ...item, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      return onFailure(ctx, item, tally, toFailure(err), signal);
    }
    const rowIds = await store.transaction(async (trx) => {
      // The dataset first, as cancel and finalize take it: the same lock order everywhere.
      await store.lockDataset(trx, ctx.dataset.id);
      if (!(await tasksDb.finishItem(trx, item, owner, 'done', tally))) return undefined;
      const dataset = await findDataset(trx, ctx.task.workspaceId, ctx.dataset.id);
      if (!dataset) return undefined;
      const at = now();
      const ids = await appendRows(trx, dataset.id, ctx.columns, raw, values, dataset.rowCount, at);
      await tasksDb.addRowsAdded(trx, item.taskId, ids.length);
      await updateDataset(trx, dataset.id, { rowCountDelta: ids.length, updatedAt: at });
      if (computed.length) await tasksDb.insertItems(trx, { taskId: item.taskId, datasetId: dataset.id, stages: stages(computed), rowIds: ids, onlyEmpty: false, append: true, at });
      return ids;
    });
    // Generated rows are not kept in the LLM cache: release the claims of their requests.
    if (tally.cacheWrites?.length) cache.release(tally.cacheWrites);
    if (!rowIds && tally.llmCalls > 0) await chargeDiscarded(ctx, item, tally);
    if (rowIds) {
      deps.live.emit({ type: 'rows', workspaceId: ctx.task.workspaceId, data: { datasetId: ctx.dataset.id, taskId: item.taskId, rowIds } });
      wake();
    }
    await afterItem(ctx, item);
  }

  /** Stops the task before a call that would likely exceed maxCostUsd (the average call so far, per item in flight). */
  async function overBudget(ctx: TaskContext, item: tasksDb.ClaimedItem): Promise<boolean> {
    const { usage } = await tasksDb.aggregateItems(store.db, item.taskId);
    const pending = uncommitted.get(item.taskId) ?? { costUsd: 0, llmCalls: 0 };
    const spent = usage.costUsd + pending.costUsd;
    const calls = usage.llmCalls + pending.llmCalls;
    const perCall = calls ? spent / calls : 0;
    // Items of the task still before their write: each may make about one more call.
    const others = [...inflight.values()].filter((f) => f.item.taskId === item.taskId && !f.writing).length - 1;
    if (spent + perCall * (others + 1) <= ctx.maxCostUsd! && spent < ctx.maxCostUsd!) return false;
    await tasksDb.releaseItem(store.db, item, owner, now(), true);
    await store.transaction(async (trx) => {
      await store.lockDataset(trx, ctx.dataset.id);
      await tasksDb.setTaskError(trx, item.taskId, 'budget reached');
      await tasksDb.stopPendingItems(trx, item.taskId, 'skipped', false, now());
    });
    ctx.task.error = 'budget reached';
    await afterItem(ctx, item);
    return true;
  }

  /**
   * After each item: live progress (throttled), and the end of the task when nothing is left. The
   * "anything left?" probe runs only when no other item of the task is in flight in this process:
   * if one is, it will probe when it finishes, so the last item of a task, in whichever process,
   * still ends it, and a busy task does not pay a query per cell.
   */
  async function afterItem(ctx: TaskContext, item: tasksDb.ItemKey) {
    const taskId = ctx.task.id;
    // Marked and checked in one synchronous step: of items finishing together (one group commit),
    // the last to get here sees all the others marked, and probes.
    finished.add(keyOf(item));
    const othersInFlight = [...inflight.values()].some((f) => f.item.taskId === taskId && !finished.has(keyOf(f.item)));
    if (othersInFlight || (await tasksDb.hasRemainingItems(store.db, taskId))) {
      // Live progress at most twice a second per task: an aggregate per cell would cost more than the cell.
      if (Date.now() - (lastProgress.get(taskId) ?? 0) > 500) {
        lastProgress.set(taskId, Date.now());
        const { progress } = await tasksDb.aggregateItems(store.db, taskId);
        deps.live.emit({ type: 'task', workspaceId: ctx.task.workspaceId, data: { datasetId: ctx.dataset.id, taskId, status: 'processing', progress } });
      }
      return;
    }
    const done = await store.transaction(async (trx) => {
      await store.lockDataset(trx, ctx.dataset.id);
      return tasksDb.finalizeTask(trx, taskId, now());
    });
    if (!done) return;
    contexts.delete(taskId);
    started.delete(taskId);
    lastProgress.delete(taskId);
    publishTask(ctx, done.status === 'failed' ? 'dataset.task.failed' : 'dataset.task.completed', done);
  }

  function publishTask(ctx: TaskContext, type: string, task: tasksDb.TaskRecord) {
    const webhookId = ctx.task.params.webhookId;
    const data = { datasetId: task.datasetId, taskId: task.id, status: task.status, progress: task.progress, usage: task.usage, error: task.error, ...(typeof webhookId === 'string' ? { webhookId } : {}) };
    // requestId: the request that created the task (this line is logged outside any request).
    logger[task.status === 'failed' ? 'warn' : 'info'](`task ${task.status}`, { taskId: task.id, datasetId: task.datasetId, type: task.type, progress: task.progress, usage: task.usage, error: task.error, requestId: ctx.task.params.requestId ?? null });
    deps.events.emit({ type, workspaceId: task.workspaceId, data });
    deps.live.emit({ type: 'task', workspaceId: task.workspaceId, data });
  }

  function publishCell(ctx: TaskContext, k: tasksDb.ItemKey, status: string, value: unknown) {
    if (k.columnId === tasksDb.GENERATE_COLUMN) return;
    deps.live.emit({ type: 'cell', workspaceId: ctx.task.workspaceId, data: { datasetId: ctx.dataset.id, cellId: cellId(k.rowId, k.columnId), rowId: k.rowId, columnId: k.columnId, status, value } });
  }

  return {
    owner,
    shares,
    start() {
      if (loop) return;
      stopping = false;
      heartbeat = setInterval(() => void tasksDb.renewLeases(store.db, owner, leaseUntil()).catch((err: unknown) => logger.warn('lease renewal failed', { error: String(err) })), Math.max(100, config.taskLeaseMs / 3));
      heartbeat.unref();
      loop = run();
    },
    /** Work was just queued: claim now instead of at the next poll. */
    wake,
    /** A task was cancelled: abort its calls in flight (their results would be refused anyway). */
    abortTask(taskId: string) {
      for (const f of inflight.values()) if (f.item.taskId === taskId) f.controller.abort();
      contexts.delete(taskId);
      started.delete(taskId);
    },
    /** Stops claiming, lets calls in flight finish for up to `drainMs`, then aborts and hands back the rest. */
    async stop(drainMs = 5000) {
      stopping = true;
      wake();
      await loop;
      loop = undefined;
      const all = () => Promise.all([...inflight.values()].map((f) => f.done));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, drainMs)))]);
      clearTimeout(timer);
      for (const f of inflight.values()) f.controller.abort();
      await all();
      clearInterval(heartbeat);
      await shares.stop();
    },
  };
}
export type Engine = ReturnType<typeof createEngine>;

function toFailure(err: unknown): Failure {
  if (err instanceof LlmError) return { code: err.code, message: err.message, retryable: err.retryable, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) };
  if (err instanceof CellError) return { code: err.code, message: err.message, retryable: err.retryable };
  return { code: 'INTERNAL_ERROR', message: 'Unexpected error while computing the cell', retryable: false };
}
