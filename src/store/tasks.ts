import { sql } from 'kysely';
import { type Db, isPostgres, toNumber } from './store.ts';
import type { Database } from './schema.ts';
import { cellId } from '../ids.ts';
import { changeRows, chunk, columnOfCell, decodeRow, findStored, putMetadataOnly, readRowCells, type CellStatus } from './row-cells.ts';
import { addUsage, type ItemKey, type ItemUsage } from './task-leases.ts';

/**
 * Tasks and their items. A task is one run over a dataset; each targeted cell is a task_items row,
 * the durable unit of work. Workers claim items with a lease (lease_owner, lease_until), renew it
 * while working, and write a result only while they still hold it; an expired lease (a crashed
 * worker) makes the item claimable again, so nothing is lost and nothing is written twice. Those
 * lease guards (claim, renewal, the held-by check, finish, release, the group commit's statement)
 * are in task-leases.ts and re-exported here.
 */

export { claimItems, finishItem, finishItems, itemKeyOf, markClaimedProcessing, releaseItem, renewLeases, setHeldCellStatus } from './task-leases.ts';
export type { ClaimedItem, ItemKey, ItemResult, ItemUsage } from './task-leases.ts';

export type TaskStatus = 'queued' | 'processing' | 'completed' | 'failed' | 'cancelled';
export type Progress = { total: number; completed: number; failed: number; skipped: number };
export type Usage = { llmCalls: number; cachedCalls: number; inputTokens: number; outputTokens: number; costUsd: number };
export type TaskRecord = { id: string; workspaceId: string; datasetId: string; type: string; status: TaskStatus; params: Record<string, unknown>; progress: Progress; usage: Usage; error: string | null; createdAt: string; startedAt: string | null; completedAt: string | null; rowsAdded: number | null };

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

/** Every cell of these rows, values decoded, by row: the executors' view of the rows of one claim. */
export async function rowsCells(db: Db, rowIds: readonly string[]): Promise<Map<string, { columnId: string; value: unknown; status: string }[]>> {
  const out = new Map<string, { columnId: string; value: unknown; status: string }[]>();
  for (const [id, text] of await readRowCells(db, rowIds)) out.set(id, decodeRow(text).map((c) => ({ columnId: columnOfCell(c.cellId), value: c.value, status: c.status })));
  return out;
}
