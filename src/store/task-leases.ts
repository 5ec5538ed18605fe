import { sql } from 'kysely';
import { type Db, isPostgres, toNumber } from './store.ts';
import { cellId } from '../ids.ts';
import { changeRows, chunk, decodeRow, encodeRow, findStored, inTransaction, lockRowCells, putMetadataOnly, writeRowCells, type CellStatus, type StoredCell } from './row-cells.ts';

/**
 * The lease guards of task items (tasks.ts has the rest of tasks): workers claim items with a lease
 * (lease_owner, lease_until), renew it while working, and write a result only while they still
 * hold it; an expired lease (a crashed worker) makes the item claimable again, so nothing is lost
 * and nothing is written twice. Every statement that takes, renews, checks or gives up a lease is
 * here, in one file, so that the mutation tests (scripts/mutate.mjs, module leases) mutate exactly
 * these guards. tasks.ts re-exports them.
 */


export type ItemKey = { taskId: string; rowId: string; columnId: string };
export type ClaimedItem = ItemKey & { attempts: number };
export type ItemUsage = { llmCalls: number; cachedCalls: number; inputTokens: number; outputTokens: number; costUsd: number };

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
export const addUsage = (u: ItemUsage) => ({
  llm_calls: sql<number>`llm_calls + ${u.llmCalls}`,
  cached_calls: sql<number>`cached_calls + ${u.cachedCalls}`,
  input_tokens: sql<number>`input_tokens + ${u.inputTokens}`,
  output_tokens: sql<number>`output_tokens + ${u.outputTokens}`,
  cost_usd: sql<number>`cost_usd + ${u.costUsd}`,
});


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
    // SQLite: the unary + keeps the planner off the (status, available_at) index. With it, SQLite
    // walked every running item and, for each, the whole batch (json_each has no index): a batch of
    // 63 took 10 ms instead of 0.5 ms by primary key, the largest cost of a cached re-run.
    const running = pg ? sql`task_items.status = 'running'` : sql`+task_items.status = 'running'`;
    const finished = await sql<{ task_id: string; row_id: string; column_id: string }>`
      UPDATE task_items SET status = v.status, lease_owner = NULL, lease_until = NULL, llm_calls = task_items.llm_calls + v.llm_calls, cached_calls = task_items.cached_calls + v.cached_calls,
        input_tokens = task_items.input_tokens + v.input_tokens, output_tokens = task_items.output_tokens + v.output_tokens, cost_usd = task_items.cost_usd + v.cost_usd
      FROM (${rows}) AS v
      WHERE task_items.task_id = v.task_id AND task_items.row_id = v.row_id AND task_items.column_id = v.column_id
        AND ${running} AND task_items.lease_owner = ${owner}
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

/**
 * Marks the cells of items `owner` just claimed (and still holds) as processing, in one read and
 * write of their rows. Returns those rows' cells as they are now, decoded (the engine's view of the
 * claim's rows: it need not read them again).
 */
export async function markClaimedProcessing(db: Db, owner: string, items: readonly ItemKey[], at: string): Promise<Map<string, StoredCell[]>> {
  if (!items.length) return new Map();
  return inTransaction(db, async (trx) => {
    const docs = await lockRowCells(trx, items.map((i) => i.rowId));
    // Items checked after the rows are locked: a cancel restores cells under the same locks.
    const taskIds = [...new Set(items.map((i) => i.taskId))];
    const held = new Set<string>();
    for (const part of chunk([...docs.keys()], 1000)) {
      const rows = await trx.selectFrom('task_items').select(['row_id', 'column_id']).where('task_id', 'in', taskIds).where('row_id', 'in', part).where('status', '=', 'running').where('lease_owner', '=', owner).execute();
      for (const r of rows) held.add(cellId(r.row_id, r.column_id));
    }
    const changed: { id: string; cells: string; decoded: StoredCell[] }[] = [];
    const rows = new Map<string, StoredCell[]>();
    for (const [id, text] of docs) {
      const cells = decodeRow(text);
      rows.set(id, cells);
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
    return rows;
  });
}
