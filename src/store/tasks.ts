import { PostgresAdapter, sql } from 'kysely';
import type { Db } from './store.ts';
import { toNumber } from './store.ts';
import type { Database } from './schema.ts';
import { cellId } from '../ids.ts';
import { changeRows, chunk, columnOfCell, decodeRow, encodeRow, findStored, inTransaction, lockRowCells, putMetadataOnly, readRowCells, writeRowCells, type CellStatus, type StoredCell } from './row-cells.ts';

/**
 * Tasks and their items. A task is one run over a dataset; each targeted cell is a task_items row,
 * the durable unit of work. Workers claim items with a lease (lease_owner, lease_until), renew it
 * while working, and write a result only while they still hold it; an expired lease (a crashed
 * worker) makes the item claimable again, so nothing is lost and nothing is written twice.
 */

export type TaskStatus = 'queued' | 'processing' | 'completed' | 'failed' | 'cancelled';
export type Progress = { total: number; completed: number; failed: number; skipped: number };
export type Usage = { llmCalls: number; cachedCalls: number; inputTokens: number; outputTokens: number; costUsd: number };
export type TaskRecord = { id: string; workspaceId: string; datasetId: string; type: string; status: TaskStatus; params: Record<string, unknown>; progress: Progress; usage: Usage; error: string | null; createdAt: string; startedAt: string | null; completedAt: string | null; rowsAdded: number | null };
export type ItemKey = { taskId: string; rowId: string; columnId: string };
export type ClaimedItem = ItemKey & { attempts: number };
export type ItemUsage = { llmCalls: number; cachedCalls: number; inputTokens: number; outputTokens: number; costUsd: number };

const isPostgres = (db: Db) => db.getExecutor().adapter instanceof PostgresAdapter;
const ZERO_USAGE: Usage = { llmCalls: 0, cachedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
const ACTIVE = ['queued', 'processing'];

/**
 * The column id of a `new-rows` task's generation items: one item per batch of rows to generate,
 * with row id `GENERATE_ROW_PREFIX` + batch number. They are leased, retried and counted in
 * progress like cells; no cell carries that column, so cell-status updates skip them.
 */
export const GENERATE_COLUMN = '*generate';
export const GENERATE_ROW_PREFIX = 'batch_';
export const generationBatch = (rowId: string) => Number(rowId.slice(GENERATE_ROW_PREFIX.length));

/** Queues the generation items of a new-rows task (batch numbers 0 .. batches - 1). */
export async function insertGenerationItems(db: Db, taskId: string, batches: number, at: string): Promise<void> {
  const items = Array.from({ length: batches }, (_, b) => ({ task_id: taskId, row_id: `${GENERATE_ROW_PREFIX}${String(b).padStart(6, '0')}`, column_id: GENERATE_COLUMN, stage: 0, status: 'pending', attempts: 0, available_at: at, prev_status: 'empty', llm_calls: 0, cached_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 }));
  for (let i = 0; i < items.length; i += 1000) await db.insertInto('task_items').values(items.slice(i, i + 1000)).execute();
  await db.updateTable('tasks').set({ progress: JSON.stringify({ total: batches, completed: 0, failed: 0, skipped: 0 }) }).where('id', '=', taskId).execute();
}

export type NewTask = { id: string; workspaceId: string; datasetId: string; type: 'bulk' | 'new-rows'; status: 'queued' | 'processing'; params: unknown; createdAt: string; total?: number };

/** Records a task and locks its dataset (status processing), in the caller's transaction. */
export async function insertTask(db: Db, t: NewTask): Promise<void> {
  await db
    .insertInto('tasks')
    .values({
      id: t.id,
      workspace_id: t.workspaceId,
      dataset_id: t.datasetId,
      type: t.type,
      status: t.status,
      params: JSON.stringify(t.params),
      progress: JSON.stringify({ total: t.total ?? 0, completed: 0, failed: 0, skipped: 0 }),
      usage: JSON.stringify(ZERO_USAGE),
      error: null,
      created_at: t.createdAt,
      started_at: null,
      completed_at: null,
      rows_added: t.type === 'new-rows' ? 0 : null,
    })
    .execute();
  await db.updateTable('datasets').set({ status: 'processing', active_task_id: t.id, updated_at: t.createdAt }).where('id', '=', t.datasetId).execute();
}

type TaskRow = { id: string; workspace_id: string; dataset_id: string; type: string; status: string; params: string; progress: string; usage: string; error: string | null; created_at: string; started_at: string | null; completed_at: string | null; rows_added: number | null };
const toTask = (r: TaskRow): TaskRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  datasetId: r.dataset_id,
  type: r.type,
  status: r.status as TaskStatus,
  params: JSON.parse(r.params) as Record<string, unknown>,
  progress: JSON.parse(r.progress) as Progress,
  usage: JSON.parse(r.usage) as Usage,
  error: r.error,
  createdAt: r.created_at,
  startedAt: r.started_at,
  completedAt: r.completed_at,
  rowsAdded: r.rows_added === null ? null : Number(r.rows_added),
});

export async function findTask(db: Db, datasetId: string, taskId: string): Promise<TaskRecord | undefined> {
  const row = await db.selectFrom('tasks').selectAll().where('id', '=', taskId).where('dataset_id', '=', datasetId).executeTakeFirst();
  return row && toTask(row);
}

export async function findTaskById(db: Db, taskId: string): Promise<TaskRecord | undefined> {
  const row = await db.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
  return row && toTask(row);
}

export async function listTasks(db: Db, datasetId: string, offset: number, limit: number): Promise<{ items: TaskRecord[]; total: number }> {
  const [rows, count] = await Promise.all([
    db.selectFrom('tasks').selectAll().where('dataset_id', '=', datasetId).orderBy('created_at', 'desc').orderBy('id', 'desc').offset(offset).limit(limit).execute(),
    db.selectFrom('tasks').select((eb) => eb.fn.countAll().as('n')).where('dataset_id', '=', datasetId).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toTask), total: toNumber(count.n) };
}

/** Progress and usage summed from the items: live figures for an active task. */
export async function aggregateItems(db: Db, taskId: string): Promise<{ progress: Progress; usage: Usage; running: number }> {
  const rows = await db
    .selectFrom('task_items')
    .select((eb) => ['status', eb.fn.countAll().as('n'), eb.fn.sum('llm_calls').as('llm'), eb.fn.sum('cached_calls').as('cached'), eb.fn.sum('input_tokens').as('inp'), eb.fn.sum('output_tokens').as('out'), eb.fn.sum('cost_usd').as('cost')])
    .where('task_id', '=', taskId)
    .groupBy('status')
    .execute();
  const progress: Progress = { total: 0, completed: 0, failed: 0, skipped: 0 };
  const usage: Usage = { ...ZERO_USAGE };
  let running = 0;
  for (const r of rows) {
    const n = toNumber(r.n);
    progress.total += n;
    if (r.status === 'done') progress.completed += n;
    else if (r.status === 'failed') progress.failed += n;
    else if (r.status === 'skipped' || r.status === 'cancelled') progress.skipped += n;
    else running += n;
    usage.llmCalls += toNumber(r.llm);
    usage.cachedCalls += toNumber(r.cached);
    usage.inputTokens += toNumber(r.inp);
    usage.outputTokens += toNumber(r.out);
    usage.costUsd += toNumber(r.cost);
  }
  usage.costUsd = Math.round(usage.costUsd * 1e10) / 1e10;
  return { progress, usage, running };
}

/** Whether any item is still to do (pending or running): an index probe, not a count, since it runs after every item. */
export async function hasRemainingItems(db: Db, taskId: string): Promise<boolean> {
  const r = await db.selectFrom('task_items').select('row_id').where('task_id', '=', taskId).where('status', 'in', ['pending', 'running']).limit(1).executeTakeFirst();
  return r !== undefined;
}

/**
 * Claims up to `limit` due items for `owner`: pending ones whose backoff has passed and whose
 * lower-stage items in the same row are finished (dependency order), plus running ones whose lease
 * expired (their worker died). One UPDATE ... RETURNING over a selecting subquery.
 * PostgreSQL: FOR UPDATE SKIP LOCKED in the subquery, so concurrent workers each take different rows
 * instead of queueing on the same ones. SQLite: one process holds the only connection and the
 * statement is atomic, so no row locks exist or are needed.
 */
export async function claimItems(db: Db, opts: { owner: string; limit: number; leaseUntil: string; now: string }): Promise<ClaimedItem[]> {
  const lock = isPostgres(db) ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  // Two picks, each an ordered index range that stops after `limit` rows: items whose lease
  // expired (few: at most what dead workers held), then due pending items by available_at. One
  // WHERE with an OR made both backends collect and sort every pending item of every task per claim.
  // The picks are CTEs joined by key, so PostgreSQL locks and limits exactly once.
  const result = await sql<{ task_id: string; row_id: string; column_id: string; attempts: number }>`
    WITH expired AS (
      SELECT i.task_id, i.row_id, i.column_id FROM task_items i
      WHERE i.status = 'running' AND i.lease_until < ${opts.now}
      LIMIT ${opts.limit} ${lock}),
    due AS (
      SELECT i.task_id, i.row_id, i.column_id FROM task_items i
      WHERE i.status = 'pending' AND i.available_at <= ${opts.now}
        AND (i.stage = 0 OR NOT EXISTS (SELECT 1 FROM task_items p WHERE p.task_id = i.task_id AND p.row_id = i.row_id AND p.stage < i.stage AND p.status IN ('pending', 'running')))
      ORDER BY i.available_at LIMIT ${opts.limit} ${lock}),
    picked AS (SELECT * FROM expired UNION ALL SELECT * FROM due LIMIT ${opts.limit})
    UPDATE task_items SET status = 'running', lease_owner = ${opts.owner}, lease_until = ${opts.leaseUntil}, attempts = task_items.attempts + 1
    FROM picked WHERE task_items.task_id = picked.task_id AND task_items.row_id = picked.row_id AND task_items.column_id = picked.column_id
    RETURNING task_items.task_id, task_items.row_id, task_items.column_id, task_items.attempts`.execute(db);
  return result.rows.map((r) => ({ taskId: r.task_id, rowId: r.row_id, columnId: r.column_id, attempts: toNumber(r.attempts) }));
}

/** Heartbeat: extends the leases of everything `owner` is working on. */
export async function renewLeases(db: Db, owner: string, leaseUntil: string): Promise<void> {
  await db.updateTable('task_items').set({ lease_until: leaseUntil }).where('lease_owner', '=', owner).where('status', '=', 'running').execute();
}

/** The item, only while `owner` still holds its lease: the guard that keeps a result from being written twice. */
const heldBy = (k: ItemKey, owner: string) => sql<boolean>`task_id = ${k.taskId} AND row_id = ${k.rowId} AND column_id = ${k.columnId} AND status = 'running' AND lease_owner = ${owner}`;

/**
 * An item's usage adds up over its attempts: a call made by an attempt that was retried, failed or
 * cancelled still reached the provider, and usage counts every request the provider received.
 */
const addUsage = (u: ItemUsage) => ({
  llm_calls: sql<number>`llm_calls + ${u.llmCalls}`,
  cached_calls: sql<number>`cached_calls + ${u.cachedCalls}`,
  input_tokens: sql<number>`input_tokens + ${u.inputTokens}`,
  output_tokens: sql<number>`output_tokens + ${u.outputTokens}`,
  cost_usd: sql<number>`cost_usd + ${u.costUsd}`,
});

/**
 * Adds spend to an item whatever its status (a call whose task was cancelled meanwhile), and to its
 * task's recorded usage when the task has already ended. Run it holding the dataset lock, as cancel
 * and finalize do, so the task's figures are summed after every item is charged.
 */
export async function addItemUsage(db: Db, k: ItemKey, usage: ItemUsage): Promise<void> {
  await db.updateTable('task_items').set(addUsage(usage)).where('task_id', '=', k.taskId).where('row_id', '=', k.rowId).where('column_id', '=', k.columnId).execute();
  const task = await findTaskById(db, k.taskId);
  if (!task || ACTIVE.includes(task.status)) return;
  const { usage: total } = await aggregateItems(db, k.taskId);
  await db.updateTable('tasks').set({ usage: JSON.stringify(total) }).where('id', '=', k.taskId).execute();
}

/** Finishes an item if `owner` still holds it; false means another worker or a cancel took it. */
export async function finishItem(db: Db, k: ItemKey, owner: string, status: 'done' | 'failed', usage: ItemUsage): Promise<boolean> {
  const r = await db
    .updateTable('task_items')
    .set({ status, lease_owner: null, lease_until: null, ...addUsage(usage) })
    .where(heldBy(k, owner))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Puts an item back in the queue (retry after backoff, or a worker shutting down). */
export async function releaseItem(db: Db, k: ItemKey, owner: string, availableAt: string, refundAttempt: boolean, spent?: ItemUsage): Promise<boolean> {
  const r = await db
    .updateTable('task_items')
    .set((eb) => ({ status: 'pending', lease_owner: null, lease_until: null, available_at: availableAt, ...(refundAttempt ? { attempts: eb('attempts', '-', 1) } : {}), ...(spent ? addUsage(spent) : {}) }))
    .where(heldBy(k, owner))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Stops a task's remaining work: pending items (and running ones with `includeRunning`) become
 * `status`, and their cells get back the status they had before the task. The items are changed
 * first and the rows second, the order the group commit takes its locks in (items, then rows), so
 * a cancel and a commit running at once on PostgreSQL wait for each other instead of deadlocking.
 */
export async function stopPendingItems(db: Db, taskId: string, status: 'skipped' | 'cancelled', includeRunning: boolean, at: string): Promise<void> {
  const which = includeRunning ? ['pending', 'running'] : ['pending'];
  const stopped = await db.updateTable('task_items').set({ status, lease_owner: null, lease_until: null }).where('task_id', '=', taskId).where('status', 'in', which).returning(['row_id', 'column_id', 'prev_status']).execute();
  const before = new Map<string, Map<string, string>>();
  for (const it of stopped) {
    if (it.column_id === GENERATE_COLUMN) continue;
    (before.get(it.row_id) ?? before.set(it.row_id, new Map()).get(it.row_id)!).set(cellId(it.row_id, it.column_id), it.prev_status);
  }
  await changeRows(db, [...before.keys()], at, (rowId, cells) => {
    const want = before.get(rowId)!;
    let changed = false;
    for (const c of cells) {
      const prev = want.get(c.cellId);
      if (prev !== undefined && c.status !== prev) {
        c.status = prev as CellStatus;
        changed = true;
      }
    }
    return changed;
  });
}

/**
 * Cancels a queued or processing task in the caller's transaction: its unfinished items (running
 * ones too: their workers' results will no longer be accepted) are cancelled and their cells
 * restored; finished cells keep their values. The caller unlocks the dataset. False if not active.
 */
export async function cancelTask(db: Db, taskId: string, at: string): Promise<boolean> {
  const task = await findTaskById(db, taskId);
  if (!task || !ACTIVE.includes(task.status)) return false;
  await stopPendingItems(db, taskId, 'cancelled', true, at);
  const { progress, usage } = await aggregateItems(db, taskId);
  await db.updateTable('tasks').set({ status: 'cancelled', completed_at: at, progress: JSON.stringify({ ...progress, total: Math.max(progress.total, task.progress.total) }), usage: JSON.stringify(usage) }).where('id', '=', taskId).execute();
  return true;
}

/** queued -> processing for tasks whose first item was just claimed; returns those that changed. */
export async function markTasksStarted(db: Db, taskIds: readonly string[], at: string): Promise<string[]> {
  if (!taskIds.length) return [];
  const rows = await db.updateTable('tasks').set({ status: 'processing', started_at: at }).where('id', 'in', taskIds).where('status', '=', 'queued').returning('id').execute();
  return rows.map((r) => r.id);
}

/**
 * Ends a task once nothing is left to do, in the caller's transaction (which should hold the
 * dataset lock so two finishing workers do not both end it). Completed unless every item failed.
 */
export async function finalizeTask(db: Db, taskId: string, at: string): Promise<TaskRecord | undefined> {
  const task = await findTaskById(db, taskId);
  if (!task || !ACTIVE.includes(task.status)) return undefined;
  const { progress, usage, running } = await aggregateItems(db, taskId);
  if (running > 0) return undefined;
  const status: TaskStatus = progress.total > 0 && progress.failed === progress.total ? 'failed' : 'completed';
  // A new-rows task that added fewer rows than asked says so, whatever else went right.
  const requested = task.type === 'new-rows' && typeof task.params.rowCount === 'number' ? task.params.rowCount : undefined;
  const added = task.rowsAdded ?? 0;
  const error = requested !== undefined && added < requested ? `Added ${added} of ${requested} requested rows${task.error ? `; ${task.error}` : ''}` : task.error;
  await db
    .updateTable('tasks')
    .set({ status, progress: JSON.stringify(progress), usage: JSON.stringify(usage), completed_at: at, started_at: task.startedAt ?? at, error })
    .where('id', '=', taskId)
    .execute();
  await db.updateTable('datasets').set({ status: status === 'failed' ? 'failed' : 'completed', active_task_id: null, updated_at: at }).where('id', '=', task.datasetId).where('active_task_id', '=', taskId).execute();
  return { ...task, status, progress, usage, error, completedAt: at, startedAt: task.startedAt ?? at };
}

/** Counts rows a new-rows task added (in the transaction that adds them). */
export async function addRowsAdded(db: Db, taskId: string, n: number): Promise<void> {
  await db.updateTable('tasks').set({ rows_added: sql<number>`COALESCE(rows_added, 0) + ${n}` }).where('id', '=', taskId).execute();
}

export async function setTaskError(db: Db, taskId: string, error: string): Promise<void> {
  await db.updateTable('tasks').set({ error }).where('id', '=', taskId).execute();
}

export type ItemSelection = {
  taskId: string;
  datasetId: string;
  /** Stage of each targeted column; only cells of these columns become items. */
  stages: ReadonlyMap<string, number>;
  rowIds?: readonly string[];
  /** Exact cells (row, column); used instead of the row x column product. */
  cells?: readonly { rowId: string; columnId: string }[];
  /** Only cells without a value. */
  onlyEmpty: boolean;
  /** Only cells in these statuses (the no-target form: empty and stale). */
  statuses?: readonly string[];
  /** Items added to a running task (rows a new-rows batch just generated): only those rows' cells are touched, and the task's progress is left to the live aggregate. */
  append?: boolean;
  at: string;
};

/**
 * Creates the items of a task from the dataset's cells and marks those cells queued, reading and
 * rewriting the targeted rows 2,000 at a time (the whole dataset may be targeted: memory stays
 * bounded). Returns the count.
 */
export async function insertItems(db: Db, s: ItemSelection): Promise<number> {
  const columnIds = [...s.stages.keys()];
  if (!columnIds.length) return 0;
  const statuses = s.statuses ? new Set(s.statuses) : undefined;
  const exact = s.cells ? new Set(s.cells.map((c) => cellId(c.rowId, c.columnId))) : undefined;
  const targeted = new Set(columnIds);
  let total = 0;
  const pick = async (rowIds: readonly string[]) => {
    const items: Database['task_items'][] = [];
    await changeRows(db, rowIds, s.at, (rowId, cells) => {
      let changed = false;
      for (const c of cells) {
        const columnId = columnOfCell(c.cellId);
        if (!targeted.has(columnId)) continue;
        if (exact && !exact.has(c.cellId)) continue;
        if (s.onlyEmpty && c.value !== null) continue;
        if (statuses && !statuses.has(c.status)) continue;
        items.push({ task_id: s.taskId, row_id: rowId, column_id: columnId, stage: s.stages.get(columnId)!, status: 'pending', attempts: 0, available_at: s.at, lease_owner: null, lease_until: null, prev_status: c.status, llm_calls: 0, cached_calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 });
        c.status = 'queued';
        changed = true;
      }
      return changed;
    });
    await insertItemRows(db, items);
    total += items.length;
  };
  if (s.cells) for (const part of chunk([...new Set(s.cells.map((c) => c.rowId))], 2000)) await pick(part);
  else if (s.rowIds) for (const part of chunk(s.rowIds, 2000)) await pick(part);
  else {
    let after = -1;
    for (;;) {
      const rows = await db.selectFrom('dataset_rows').select(['id', 'position']).where('dataset_id', '=', s.datasetId).where('position', '>', after).orderBy('position').limit(2000).execute();
      if (!rows.length) break;
      after = Number(rows[rows.length - 1]!.position);
      await pick(rows.map((r) => r.id));
    }
  }
  if (s.append) return total;
  await db.updateTable('tasks').set({ progress: JSON.stringify({ total, completed: 0, failed: 0, skipped: 0 }) }).where('id', '=', s.taskId).execute();
  return total;
}

/** Inserts task items: array parameters on PostgreSQL, multi-row VALUES on SQLite. */
async function insertItemRows(db: Db, items: readonly Database['task_items'][]): Promise<void> {
  if (!items.length) return;
  if (isPostgres(db)) {
    for (const part of chunk(items, 20_000)) {
      await sql`INSERT INTO task_items (task_id, row_id, column_id, stage, status, attempts, available_at, prev_status)
                SELECT t, r, c, g, 'pending', 0, a, p FROM unnest(${part.map((i) => i.task_id)}::text[], ${part.map((i) => i.row_id)}::text[], ${part.map((i) => i.column_id)}::text[], ${part.map((i) => i.stage)}::int[], ${part.map((i) => i.available_at)}::text[], ${part.map((i) => i.prev_status)}::text[]) AS x(t, r, c, g, a, p)`.execute(db);
    }
    return;
  }
  for (const part of chunk(items, 1000)) {
    await db.insertInto('task_items').values(part).execute();
  }
}

/** Sets the item's cell status only while `owner` holds the item (a cancel may have restored it already). */
export async function setHeldCellStatus(db: Db, k: ItemKey, owner: string, status: string, at: string): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    // Lock the row first, then look at the item: a cancel restores cells under the same row lock.
    const docs = await lockRowCells(trx, [k.rowId]);
    const held = await trx.selectFrom('task_items').select('row_id').where(heldBy(k, owner)).executeTakeFirst();
    const text = docs.get(k.rowId);
    if (!held || text === undefined) return false;
    const cells = decodeRow(text);
    const c = findStored(cells, k.rowId, k.columnId);
    if (!c) return false;
    c.status = status as CellStatus;
    await writeRowCells(trx, [{ id: k.rowId, cells: encodeRow(cells), decoded: cells }], at);
    return true;
  });
}

/** A computed result (or error) on the cell; call in the transaction that finished its item. */
export async function writeCellResult(db: Db, k: ItemKey, value: unknown, status: 'done' | 'error', metadata: Record<string, unknown>, at: string): Promise<void> {
  await changeRows(db, [k.rowId], at, (rowId, cells) => {
    const c = findStored(cells, rowId, k.columnId);
    if (!c) return false;
    c.value = value ?? null;
    c.status = status;
    return true;
  });
  await putMetadataOnly(db, [{ rowId: k.rowId, columnId: k.columnId, metadata: JSON.stringify(metadata) }]);
}

/** Every cell of a row, values decoded: the executor's view of the row. */
export async function rowCells(db: Db, rowId: string): Promise<{ columnId: string; value: unknown; status: string }[]> {
  return (await rowsCells(db, [rowId])).get(rowId) ?? [];
}

/** The (row, column) pairs of a task, for previews made inside a rolled-back transaction. */
export async function listItemKeys(db: Db, taskId: string): Promise<{ rowId: string; columnId: string }[]> {
  const rows = await db.selectFrom('task_items').select(['row_id', 'column_id']).where('task_id', '=', taskId).orderBy('stage').orderBy('row_id').execute();
  return rows.map((r) => ({ rowId: r.row_id, columnId: r.column_id }));
}

/** One finished item and what goes on its cell: written together with many others by finishItems. */
export type ItemResult = { key: ItemKey; status: 'done' | 'failed'; usage: ItemUsage; cell?: { value: unknown; status: 'done' | 'error'; metadata: Record<string, unknown> } };

/** An item's key as one string: the set finishItems returns holds these. */
export const itemKeyOf = (k: ItemKey) => `${k.taskId}/${k.rowId}/${k.columnId}`;

/**
 * Finishes many items in two statements (the engine's group commit): each item only while `owner`
 * still holds it, and the cells only of the items that were finished. Returns the keys finished.
 * The batch travels as one JSON parameter, so the SQL text is the same for every batch size and
 * is prepared (SQLite) or planned (PostgreSQL) once. Dialects differ only in how JSON becomes rows:
 * jsonb_to_recordset on PostgreSQL, json_each + json_extract on SQLite.
 */
export async function finishItems(db: Db, owner: string, results: readonly ItemResult[], at: string): Promise<Set<string>> {
  const written = new Set<string>();
  const pg = isPostgres(db);
  for (const part of chunk(results, 500)) {
    const items = JSON.stringify(part.map((r) => ({ task_id: r.key.taskId, row_id: r.key.rowId, column_id: r.key.columnId, status: r.status, llm_calls: r.usage.llmCalls, cached_calls: r.usage.cachedCalls, input_tokens: r.usage.inputTokens, output_tokens: r.usage.outputTokens, cost_usd: r.usage.costUsd })));
    const rows = pg
      ? sql`SELECT * FROM jsonb_to_recordset(CAST(${items} AS jsonb)) AS x(task_id text, row_id text, column_id text, status text, llm_calls int, cached_calls int, input_tokens int, output_tokens int, cost_usd float8)`
      : sql`SELECT json_extract(value, '$.task_id') AS task_id, json_extract(value, '$.row_id') AS row_id, json_extract(value, '$.column_id') AS column_id, json_extract(value, '$.status') AS status,
                   json_extract(value, '$.llm_calls') AS llm_calls, json_extract(value, '$.cached_calls') AS cached_calls, json_extract(value, '$.input_tokens') AS input_tokens,
                   json_extract(value, '$.output_tokens') AS output_tokens, json_extract(value, '$.cost_usd') AS cost_usd FROM json_each(${items})`;
    const finished = await sql<{ task_id: string; row_id: string; column_id: string }>`
      UPDATE task_items SET status = v.status, lease_owner = NULL, lease_until = NULL, llm_calls = task_items.llm_calls + v.llm_calls, cached_calls = task_items.cached_calls + v.cached_calls,
        input_tokens = task_items.input_tokens + v.input_tokens, output_tokens = task_items.output_tokens + v.output_tokens, cost_usd = task_items.cost_usd + v.cost_usd
      FROM (${rows}) AS v
      WHERE task_items.task_id = v.task_id AND task_items.row_id = v.row_id AND task_items.column_id = v.column_id
        AND task_items.status = 'running' AND task_items.lease_owner = ${owner}
      RETURNING task_items.task_id, task_items.row_id, task_items.column_id`.execute(db);
    const now = new Set(finished.rows.map((r) => itemKeyOf({ taskId: r.task_id, rowId: r.row_id, columnId: r.column_id })));
    now.forEach((k) => written.add(k));
    const cells = part.filter((r) => r.cell && now.has(itemKeyOf(r.key)));
    if (!cells.length) continue;
    const results = new Map<string, { value: unknown; status: CellStatus }>();
    for (const r of cells) results.set(cellId(r.key.rowId, r.key.columnId), { value: r.cell!.value ?? null, status: r.cell!.status });
    await changeRows(db, cells.map((r) => r.key.rowId), at, (_, stored) => {
      let changed = false;
      for (const c of stored) {
        const res = results.get(c.cellId);
        if (!res) continue;
        c.value = res.value;
        c.status = res.status;
        changed = true;
      }
      return changed;
    });
    await putMetadataOnly(db, cells.map((r) => ({ rowId: r.key.rowId, columnId: r.key.columnId, metadata: JSON.stringify(r.cell!.metadata) })));
  }
  return written;
}

/** Marks the cells of items `owner` just claimed (and still holds) as processing, in one read and write of their rows. */
export async function markClaimedProcessing(db: Db, owner: string, items: readonly ItemKey[], at: string): Promise<void> {
  if (!items.length) return;
  await inTransaction(db, async (trx) => {
    const docs = await lockRowCells(trx, items.map((i) => i.rowId));
    // Items checked after the rows are locked: a cancel restores cells under the same locks.
    const taskIds = [...new Set(items.map((i) => i.taskId))];
    const held = new Set<string>();
    for (const part of chunk([...docs.keys()], 1000)) {
      const rows = await trx.selectFrom('task_items').select(['row_id', 'column_id']).where('task_id', 'in', taskIds).where('row_id', 'in', part).where('status', '=', 'running').where('lease_owner', '=', owner).execute();
      for (const r of rows) held.add(cellId(r.row_id, r.column_id));
    }
    const changed: { id: string; cells: string; decoded: StoredCell[] }[] = [];
    for (const [id, text] of docs) {
      const cells = decodeRow(text);
      let any = false;
      for (const c of cells) {
        if (held.has(c.cellId) && c.status !== 'processing') {
          c.status = 'processing';
          any = true;
        }
      }
      if (any) changed.push({ id, cells: encodeRow(cells), decoded: cells });
    }
    await writeRowCells(trx, changed, at);
  });
}

/** Every cell of these rows, values decoded, by row: the executors' view of the rows of one claim. */
export async function rowsCells(db: Db, rowIds: readonly string[]): Promise<Map<string, { columnId: string; value: unknown; status: string }[]>> {
  const out = new Map<string, { columnId: string; value: unknown; status: string }[]>();
  for (const [id, text] of await readRowCells(db, rowIds)) out.set(id, decodeRow(text).map((c) => ({ columnId: columnOfCell(c.cellId), value: c.value, status: c.status })));
  return out;
}
