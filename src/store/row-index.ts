import { sql } from 'kysely';
import { chunk, columnOfCell, decodeRow, type StoredCell } from './row-cells.ts';
import { type Db, isPostgres } from './store.ts';

/**
 * Typed values of the columns a view filters or sorts on (issue 19), so that a filter or a sort
 * over 100,000 rows is an index range instead of decoding every row's `cells` JSON.
 *
 * `row_values` holds one row per (row, indexed column): the row's position, the value as a number
 * (`num`) and as text (`txt`), and the cell's status. A column is indexed the first time a view
 * filters or sorts on it (`ensureRowIndexes`), and from then on every write of rows keeps it in
 * step: `syncRowIndexes` from `writeRowCells` (every change of cells), `syncNewRows` from
 * `insertRows`, `syncRowPositions` from `deleteRows` (positions are renumbered). Deleting the
 * column or the rows deletes its values through foreign keys.
 *
 * Building is in batches of 5,000 rows. The column is listed (`building`) before the first batch
 * is read, so a writer that changes a row after that keeps the row's value in step itself; on
 * PostgreSQL listing it first waits for the writes in progress (see buildRowIndexes). Queries use
 * the column once it is `ready`.
 */

/** Characters of a text kept in `txt`: PostgreSQL refuses B-tree entries over 2,704 bytes (600 x 4 bytes fits). */
export const TEXT_KEY_CHARS = 600;
const BUILD_BATCH = 5000;


/** A cell value as the number and the text filters and sorts compare (docs/views.md). */
export function typedValue(value: unknown): { num: number | null; txt: string | null } {
  if (value === null || value === undefined) return { num: null, txt: null };
  if (typeof value === 'number') return { num: Number.isFinite(value) ? value : null, txt: String(value) };
  if (typeof value === 'boolean') return { num: value ? 1 : 0, txt: String(value) };
  if (typeof value === 'string') {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    return { num: Number.isFinite(n) ? n : null, txt: textKey(value) };
  }
  return { num: null, txt: textKey(JSON.stringify(value)) };
}

/** Text as stored in `txt`: its first TEXT_KEY_CHARS characters, well-formed, without NUL (PostgreSQL text refuses it). */
export function textKey(text: string): string {
  let t = text.length > TEXT_KEY_CHARS ? text.slice(0, TEXT_KEY_CHARS) : text;
  if (t.includes('\u0000')) t = t.replaceAll('\u0000', '');
  return /[\uD800-\uDFFF]/.test(t) ? t.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD') : t;
}

type ValueRow = [rowId: string, columnId: string, position: number | null, num: number | null, txt: string | null, status: string];

function valuesOf(rows: readonly { id: string; cells: string; decoded?: StoredCell[] | undefined; position?: number }[], columns: ReadonlySet<string>): ValueRow[] {
  const out: ValueRow[] = [];
  for (const r of rows) {
    const cells = r.decoded ?? decodeRow(r.cells);
    for (const c of cells) {
      const columnId = columnOfCell(c.cellId);
      if (!columns.has(columnId)) continue;
      const v = typedValue(c.value);
      out.push([r.id, columnId, r.position ?? null, v.num, v.txt, c.status]);
    }
  }
  return out;
}

/**
 * Upserts values, 5,000 per statement in one JSON parameter (one SQL text for any batch).
 */
async function putValues(db: Db, values: readonly ValueRow[], positions: 'given' | 'stored'): Promise<void> {
  for (const part of chunk(values, 5000)) {
    // PostgreSQL reads typed records (json_to_recordset) several times faster than fields picked from arrays.
    const v = isPostgres(db)
      ? sql`SELECT * FROM json_to_recordset(CAST(${JSON.stringify(part.map(([row_id, column_id, position, num, txt, status]) => ({ row_id, column_id, position, num, txt, status })))} AS json))
              AS x(row_id text, column_id text, position int, num double precision, txt text, status text)`
      : sql`SELECT json_extract(value, '$[0]') AS row_id, json_extract(value, '$[1]') AS column_id, json_extract(value, '$[2]') AS position, json_extract(value, '$[3]') AS num, json_extract(value, '$[4]') AS txt, json_extract(value, '$[5]') AS status FROM json_each(${JSON.stringify(part)})`;
    // A build and new rows bring their positions. A changed row's values keep theirs, and only
    // values that changed are written: most writes change a status or another column, and an
    // upsert of an unchanged value still rewrites (SQLite) or locks (PostgreSQL) its entry.
    const pg = isPostgres(db);
    const differs = pg
      ? sql`o.row_id IS NULL OR o.num IS DISTINCT FROM v.num OR o.txt IS DISTINCT FROM v.txt COLLATE "C" OR o.status <> v.status`
      : sql`o.row_id IS NULL OR o.num IS NOT v.num OR o.txt IS NOT v.txt OR o.status <> v.status`;
    const source =
      positions === 'given'
        ? sql`SELECT v.row_id, v.column_id, v.position, v.num, v.txt, v.status FROM (${v}) AS v WHERE true`
        : sql`SELECT v.row_id, v.column_id, r.position, v.num, v.txt, v.status FROM (${v}) AS v JOIN dataset_rows r ON r.id = v.row_id
              LEFT JOIN row_values o ON o.row_id = v.row_id AND o.column_id = v.column_id WHERE ${differs}`;
    await sql`INSERT INTO row_values (row_id, column_id, position, num, txt, status) ${source}
              ON CONFLICT (row_id, column_id) DO UPDATE SET num = excluded.num, txt = excluded.txt, status = excluded.status`.execute(db);
  }
}

/** Indexed columns of the datasets of these rows (any state: a column being built is kept in step too). */
async function indexedColumnsOfRows(db: Db, rowIds: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunk(rowIds, 2000)) {
    const rows = isPostgres(db)
      ? await sql<{ column_id: string }>`SELECT column_id FROM row_index_columns WHERE dataset_id IN (SELECT DISTINCT dataset_id FROM dataset_rows WHERE id = ANY(${part}::text[]))`.execute(db)
      : await sql<{ column_id: string }>`SELECT column_id FROM row_index_columns WHERE dataset_id IN (SELECT dataset_id FROM dataset_rows WHERE id IN (SELECT value FROM json_each(${JSON.stringify(part)})))`.execute(db);
    for (const r of rows.rows) out.add(r.column_id);
  }
  return out;
}

async function indexedColumnsOf(db: Db, datasetId: string): Promise<Set<string>> {
  const rows = await db.selectFrom('row_index_columns').select('column_id').where('dataset_id', '=', datasetId).execute();
  return new Set(rows.map((r) => r.column_id));
}

/** Keeps the indexed values of changed rows in step; called by writeRowCells, in its transaction. */
export async function syncRowIndexes(db: Db, rows: readonly { id: string; cells: string; decoded?: StoredCell[] | undefined }[]): Promise<void> {
  if (!rows.length) return;
  const columns = await indexedColumnsOfRows(db, rows.map((r) => r.id));
  if (!columns.size) return;
  await putValues(db, valuesOf(rows, columns), 'stored');
}

/** Indexes the values of new rows of a dataset; called by insertRows. */
export async function syncNewRows(db: Db, datasetId: string, rows: readonly { id: string; cells: string; decoded?: StoredCell[] | undefined; position: number }[]): Promise<void> {
  if (!rows.length) return;
  const columns = await indexedColumnsOf(db, datasetId);
  if (!columns.size) return;
  await putValues(db, valuesOf(rows, columns), 'given');
}

/** Brings positions in step after deleteRows renumbered the rows from `fromPosition` on. */
export async function syncRowPositions(db: Db, datasetId: string, fromPosition: number): Promise<void> {
  if (!(await indexedColumnsOf(db, datasetId)).size) return;
  await sql`UPDATE row_values SET position = r.position FROM dataset_rows r
            WHERE row_values.row_id = r.id AND r.dataset_id = ${datasetId} AND r.position >= ${fromPosition} AND row_values.position <> r.position`.execute(db);
}

const inFlight = new Map<string, Promise<void>>();

/**
 * Makes sure these columns of a dataset are indexed, building the missing ones (about a second per
 * column for 100,000 rows). Concurrent calls in this process share one build; a build another
 * process left unfinished is done again (upserts, so twice is harmless). Not in a transaction.
 */
export async function ensureRowIndexes(db: Db, datasetId: string, columnIds: readonly string[]): Promise<void> {
  if (!columnIds.length) return;
  const ready = new Set(
    (await db.selectFrom('row_index_columns').select('column_id').where('column_id', 'in', [...columnIds]).where('state', '=', 'ready').execute()).map((r) => r.column_id),
  );
  const missing = [...new Set(columnIds)].filter((c) => !ready.has(c));
  if (!missing.length) return;
  const key = `${datasetId}/${missing.sort().join(',')}`;
  let build = inFlight.get(key);
  if (!build) {
    build = buildRowIndexes(db, datasetId, missing).finally(() => inFlight.delete(key));
    inFlight.set(key, build);
  }
  await build;
}

async function buildRowIndexes(db: Db, datasetId: string, columnIds: readonly string[]): Promise<void> {
  const at = new Date().toISOString();
  const pg = isPostgres(db);
  await (db as import('kysely').Kysely<import('./schema.ts').Database>).transaction().execute(async (trx) => {
    // PostgreSQL: SHARE waits for the writers of rows in progress (their ROW EXCLUSIVE conflicts
    // with it) and holds new ones until the column is listed, so every write either is committed
    // before the first batch is read or keeps the column's values in step itself. (Locking each
    // batch's rows FOR SHARE instead would write a lock into every row of the dataset.)
    if (pg) await sql`LOCK TABLE dataset_rows IN SHARE MODE`.execute(trx);
    await trx
      .insertInto('row_index_columns')
      .values(columnIds.map((c) => ({ column_id: c, dataset_id: datasetId, state: 'building', created_at: at })))
      .onConflict((oc) => oc.column('column_id').doNothing())
      .execute();
  });
  const columns = new Set(columnIds);
  let after = -1;
  for (;;) {
    const done = await (db as import('kysely').Kysely<import('./schema.ts').Database>).transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('dataset_rows').select(['id', 'cells', 'position']).where('dataset_id', '=', datasetId).where('position', '>', after).orderBy('position').limit(BUILD_BATCH).execute();
      if (!rows.length) return true;
      after = Number(rows[rows.length - 1]!.position);
      await putValues(trx, valuesOf(rows.map((r) => ({ id: r.id, cells: r.cells, position: Number(r.position) })), columns), 'given');
      return rows.length < BUILD_BATCH;
    });
    if (done) break;
  }
  await db.updateTable('row_index_columns').set({ state: 'ready' }).where('column_id', 'in', [...columnIds]).execute();
  // PostgreSQL plans from statistics, and autovacuum gathers them only later: without them it takes
  // a column's 100,000 values for a few hundred and picks plans that read them all.
  if (pg) await sql`ANALYZE row_values`.execute(db);
}
