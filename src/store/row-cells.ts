import { sql } from 'kysely';
import { cellId } from '../ids.ts';
import { syncRowText } from './row-search.ts';
import { syncRowIndexes } from './row-index.ts';
import { type Db, isPostgres } from './store.ts';

/**
 * How cells are stored (migration 0016_row_documents): one store row per dataset row, and in it
 * `dataset_rows.cells`, the row's cells as the JSON text the API answers with, an array lined up
 * with the dataset's columns by position:
 *
 *     [{"cellId":"cell_…","value":"Acme","status":"done"},{"cellId":"cell_…","value":null,"status":"empty"}]
 *
 * A page of 1,000 rows is then 1,000 store rows whose text is spliced into the answer as is,
 * instead of 10,000 cell rows stepped, decoded and re-encoded (issue 13: 54 ms -> a few ms).
 * What only some reads need (metadata: sources, quotes, usage, confidence; the datasource a cell
 * links) lives apart in `cell_meta`, one row per cell that has any.
 *
 * The array follows the columns' positions: adding a column inserts an empty cell at its position
 * in every row, deleting one removes it, in the same transaction (store/columns.ts). Writers find a
 * cell by its id, never by index, so a writer holding an older view of the columns still changes
 * the right cell.
 *
 * Every change is read, modify, write of whole rows, in JavaScript, in one code path for both
 * backends: the rows are read under a row lock on PostgreSQL (FOR UPDATE, in id order so two
 * writers never wait on each other in a cycle) and inside the caller's transaction on SQLite, where
 * the one connection serialises transactions. Values keep the exact JSON text they were written
 * with (no jsonb normalisation; SQL JSON functions differ between the two backends anyway).
 */

export type CellStatus = 'empty' | 'queued' | 'processing' | 'done' | 'error' | 'stale';
/** One element of a row's `cells` array. */
export type StoredCell = { cellId: string; value: unknown; status: CellStatus };


/** The column id a stored cell belongs to: cell ids are `cell_` + row id body + column id body. */
export const columnOfCell = (id: string) => `col_${id.slice(21)}`;

export const emptyCell = (rowId: string, columnId: string): StoredCell => ({ cellId: cellId(rowId, columnId), value: null, status: 'empty' });

/** A row's cells array as text, for a new row. */
export function encodeRow(cells: readonly StoredCell[]): string {
  // Spelled out rather than JSON.stringify(cells): ids and statuses need no escaping, and this
  // runs for every row written (a third of the time of an import with the generic form).
  let out = '[';
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]!;
    out += `${i ? ',' : ''}{"cellId":"${c.cellId}","value":${c.value === null || c.value === undefined ? 'null' : JSON.stringify(c.value)},"status":"${c.status}"}`;
  }
  return `${out}]`;
}

/**
 * encodeRow's text for a new row, written straight from its values: no cell objects for the
 * hundreds of thousands of cells of an import. `valueOf(k)` is the value of `columnIds[k]`
 * (null or undefined: an empty cell).
 */
export function encodeNewRow(rowId: string, columnIds: readonly string[], valueOf: (k: number) => unknown): string {
  let out = '[';
  for (let k = 0; k < columnIds.length; k++) {
    const value = valueOf(k) ?? null;
    out += `${k ? ',' : ''}{"cellId":"${cellId(rowId, columnIds[k]!)}","value":${value === null ? 'null' : JSON.stringify(value)},"status":"${value === null ? 'empty' : 'done'}"}`;
  }
  return `${out}]`;
}

export function decodeRow(text: string): StoredCell[] {
  return JSON.parse(text) as StoredCell[];
}

/** The element of `cells` for this column, or undefined. */
export function findStored(cells: readonly StoredCell[], rowId: string, columnId: string): StoredCell | undefined {
  const id = cellId(rowId, columnId);
  for (const c of cells) if (c.cellId === id) return c;
  return undefined;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
export { chunk };

/**
 * Reads rows' cells for a change. PostgreSQL: locks them (FOR UPDATE), in id order. Call inside a
 * transaction (see `inTransaction`).
 */
export async function lockRowCells(db: Db, rowIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const pg = isPostgres(db);
  for (const part of chunk([...new Set(rowIds)].sort(), 1000)) {
    // The ids travel as one parameter, so the SQL text is the same for every batch (prepared once).
    const rows = pg
      ? await sql<{ id: string; cells: string }>`SELECT id, cells FROM dataset_rows WHERE id = ANY(${part}::text[]) ORDER BY id FOR UPDATE`.execute(db)
      : await sql<{ id: string; cells: string }>`SELECT id, cells FROM dataset_rows WHERE id IN (SELECT value FROM json_each(${JSON.stringify(part)}))`.execute(db);
    for (const r of rows.rows) out.set(r.id, r.cells);
  }
  return out;
}

/** Reads rows' cells without locking (a reader's view). */
export async function readRowCells(db: Db, rowIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const pg = isPostgres(db);
  for (const part of chunk([...new Set(rowIds)], 1000)) {
    const rows = pg
      ? await sql<{ id: string; cells: string }>`SELECT id, cells FROM dataset_rows WHERE id = ANY(${part}::text[])`.execute(db)
      : await sql<{ id: string; cells: string }>`SELECT id, cells FROM dataset_rows WHERE id IN (SELECT value FROM json_each(${JSON.stringify(part)}))`.execute(db);
    for (const r of rows.rows) out.set(r.id, r.cells);
  }
  return out;
}

/**
 * Writes rows' cells text back, and their updated_at. One statement per 2,000 rows; the batch
 * travels as one JSON parameter (see rowsJson on PostgreSQL; a [id, text] list on SQLite), so the
 * SQL text is the same for every batch size.
 */
export async function writeRowCells(db: Db, rows: readonly { id: string; cells: string; /** The same cells decoded, when the caller has them (spares decoding them again). */ decoded?: StoredCell[] }[], at: string): Promise<void> {
  const pg = isPostgres(db);
  for (const part of chunk(rows, 2000)) {
    if (pg) {
      await sql`UPDATE dataset_rows SET cells = COALESCE(v.cells_text, v.cells::text), updated_at = ${at}
                FROM json_to_recordset(CAST(${rowsJson(part, () => '')} AS json)) AS v(id text, cells json, cells_text text)
                WHERE dataset_rows.id = v.id`.execute(db);
    } else {
      await sql`UPDATE dataset_rows SET cells = v.cells, updated_at = ${at}
                FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS cells FROM json_each(${JSON.stringify(part.map((r) => [r.id, r.cells]))})) AS v
                WHERE dataset_rows.id = v.id`.execute(db);
    }
  }
  // The search text of the rows whose dataset was searched (a lookup, and nothing more, for the others).
  await syncRowText(db, rows);
  // Every change of cells passes here: the typed values of indexed columns follow (row-index.ts).
  await syncRowIndexes(db, rows);
}

/**
 * Rows as one JSON array for PostgreSQL's json_to_recordset, each row's cells spliced in as the
 * JSON they are (not as a string to escape and unescape): the `json` type keeps a value's text
 * exactly, so `cells::text` gives back the very text written; read it as
 * `COALESCE(cells_text, cells::text)` with columns `cells json, cells_text text`. `fields` adds a
 * row's other fields (JSON members without braces). Ids are [a-z0-9_]: no escaping needed.
 */
export function rowsJson<R extends { id: string; cells: string }>(rows: readonly R[], fields: (row: R) => string): string {
  let out = '[';
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const more = fields(r);
    // PostgreSQL refuses some \u escapes here (\u0000, lone surrogates). JSON.stringify writes \u
    // only for control characters and lone surrogates, so rows with any \u (rare) travel as an
    // escaped string and the rest as JSON.
    const cells = r.cells.includes('\\u') ? `"cells_text":${JSON.stringify(r.cells)}` : `"cells":${r.cells}`;
    out += `${i ? ',' : ''}{"id":"${r.id}",${more ? `${more},` : ''}${cells}}`;
  }
  return `${out}]`;
}

/**
 * Runs fn in a transaction: the caller's when `db` is one, a new one otherwise. Read-modify-write
 * of rows needs one (SQLite: so no other writer of this process runs between the read and the
 * write; PostgreSQL: so the row locks last until the write).
 */
export function inTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db);
  return (db as import('kysely').Kysely<import('./schema.ts').Database>).transaction().execute(fn);
}

/**
 * Changes the cells of some rows: `change` gets each row's decoded cells and returns whether it
 * changed any; changed rows are written back. Rows that do not exist are skipped.
 */
export async function changeRows(db: Db, rowIds: readonly string[], at: string, change: (rowId: string, cells: StoredCell[]) => boolean): Promise<number> {
  return inTransaction(db, async (trx) => {
    const docs = await lockRowCells(trx, rowIds);
    const changed: { id: string; cells: string; decoded: StoredCell[] }[] = [];
    for (const [id, text] of docs) {
      const cells = decodeRow(text);
      if (change(id, cells)) changed.push({ id, cells: encodeRow(cells), decoded: cells });
    }
    await writeRowCells(trx, changed, at);
    return changed.length;
  });
}

/**
 * Changes cells of every row of a dataset, 2,000 rows at a time in position order (row ids follow
 * positions, so the locks are still taken in about id order). In the caller's transaction.
 */
export async function changeDatasetRows(db: Db, datasetId: string, at: string, change: (rowId: string, cells: StoredCell[]) => boolean): Promise<number> {
  return inTransaction(db, async (trx) => {
    let total = 0;
    let after = -1;
    for (;;) {
      const ids = await trx.selectFrom('dataset_rows').select(['id', 'position']).where('dataset_id', '=', datasetId).where('position', '>', after).orderBy('position').limit(2000).execute();
      if (!ids.length) return total;
      after = Number(ids[ids.length - 1]!.position);
      total += await changeRows(trx, ids.map((r) => r.id), at, change);
    }
  });
}

/** One cell's metadata and datasource link, kept apart from its value. */
export type CellMeta = { rowId: string; columnId: string; metadata: string; datasourceId: string | null };

/**
 * The cell_meta columns that filters read (migration 0017_row_views), derived from the metadata
 * here, where every writer of cell_meta passes, so they cannot drift from it:
 * - needs_review: 1 when `needsReview` is true and the cell was not approved, else null (the
 *   partial index then holds only the cells that need review);
 * - confidence: `confidence` when it is a number;
 * - review_decision: `review.decision` when it is a string.
 */
export function cellMetaColumns(metadata: string): { needs_review: number | null; confidence: number | null; review_decision: string | null } {
  if (metadata === '{}') return { needs_review: null, confidence: null, review_decision: null };
  const m = JSON.parse(metadata) as { needsReview?: unknown; confidence?: unknown; review?: { decision?: unknown } | null };
  const decision = typeof m.review?.decision === 'string' ? m.review.decision : null;
  return {
    needs_review: m.needsReview === true && decision !== 'approved' ? 1 : null,
    confidence: typeof m.confidence === 'number' && Number.isFinite(m.confidence) ? m.confidence : null,
    review_decision: decision,
  };
}

/**
 * Sets cells' metadata: a cell with `{}` and no datasource has no row in cell_meta. The upsert is
 * the same SQL on both backends.
 */
export async function putCellMeta(db: Db, entries: readonly CellMeta[]): Promise<void> {
  const keep = entries.filter((e) => e.metadata !== '{}' || e.datasourceId !== null);
  const drop = entries.filter((e) => e.metadata === '{}' && e.datasourceId === null);
  for (const part of chunk(keep, 1000)) {
    await db
      .insertInto('cell_meta')
      .values(part.map((e) => ({ row_id: e.rowId, column_id: e.columnId, metadata: e.metadata, datasource_id: e.datasourceId, ...cellMetaColumns(e.metadata) })))
      .onConflict((oc) =>
        oc.columns(['row_id', 'column_id']).doUpdateSet((eb) => ({
          metadata: eb.ref('excluded.metadata'),
          datasource_id: eb.ref('excluded.datasource_id'),
          needs_review: eb.ref('excluded.needs_review'),
          confidence: eb.ref('excluded.confidence'),
          review_decision: eb.ref('excluded.review_decision'),
        })),
      )
      .execute();
  }
  await deleteCellMeta(db, drop);
}

/**
 * Sets only the metadata of cells, keeping their datasource links: one upsert that leaves
 * datasource_id alone, then (only for `{}`) the rows left with nothing are deleted.
 */
export async function putMetadataOnly(db: Db, entries: readonly { rowId: string; columnId: string; metadata: string }[]): Promise<void> {
  for (const part of chunk(entries, 1000)) {
    // One JSON parameter and one SQL text for any batch size: the engine's group commit runs this
    // for every batch, and a multi-row VALUES list would be built and prepared anew each time.
    const list = JSON.stringify(
      part.map((e) => {
        const d = cellMetaColumns(e.metadata);
        return [e.rowId, e.columnId, e.metadata, d.needs_review, d.confidence, d.review_decision];
      }),
    );
    const rows = isPostgres(db)
      ? sql`SELECT x->>0 AS row_id, x->>1 AS column_id, x->>2 AS metadata, (x->>3)::int AS needs_review, (x->>4)::double precision AS confidence, x->>5 AS review_decision FROM jsonb_array_elements(CAST(${list} AS jsonb)) AS x`
      : sql`SELECT json_extract(value, '$[0]') AS row_id, json_extract(value, '$[1]') AS column_id, json_extract(value, '$[2]') AS metadata, json_extract(value, '$[3]') AS needs_review, json_extract(value, '$[4]') AS confidence, json_extract(value, '$[5]') AS review_decision FROM json_each(${list}) WHERE true`;
    await sql`INSERT INTO cell_meta (row_id, column_id, metadata, datasource_id, needs_review, confidence, review_decision)
              SELECT row_id, column_id, metadata, NULL, needs_review, confidence, review_decision FROM (${rows}) AS v WHERE true
              ON CONFLICT (row_id, column_id) DO UPDATE SET metadata = excluded.metadata, needs_review = excluded.needs_review, confidence = excluded.confidence, review_decision = excluded.review_decision`.execute(db);
  }
  const emptied = entries.filter((e) => e.metadata === '{}');
  const byColumn = new Map<string, string[]>();
  for (const c of emptied) (byColumn.get(c.columnId) ?? byColumn.set(c.columnId, []).get(c.columnId)!).push(c.rowId);
  for (const [columnId, rowIds] of byColumn) {
    for (const part of chunk(rowIds, 1000)) await db.deleteFrom('cell_meta').where('column_id', '=', columnId).where('row_id', 'in', part).where('metadata', '=', '{}').where('datasource_id', 'is', null).execute();
  }
}

export async function deleteCellMeta(db: Db, cells: readonly { rowId: string; columnId: string }[]): Promise<void> {
  const byColumn = new Map<string, string[]>();
  for (const c of cells) (byColumn.get(c.columnId) ?? byColumn.set(c.columnId, []).get(c.columnId)!).push(c.rowId);
  for (const [columnId, rowIds] of byColumn) {
    for (const part of chunk(rowIds, 1000)) await db.deleteFrom('cell_meta').where('column_id', '=', columnId).where('row_id', 'in', part).execute();
  }
}

/** The metadata rows of these rows, keyed `rowId/columnId`. */
export async function cellMetaOf(db: Db, rowIds: readonly string[], columnIds?: readonly string[]): Promise<Map<string, CellMeta>> {
  const out = new Map<string, CellMeta>();
  for (const part of chunk([...new Set(rowIds)], 1000)) {
    let q = db.selectFrom('cell_meta').select(['row_id', 'column_id', 'metadata', 'datasource_id']).where('row_id', 'in', part);
    if (columnIds) q = q.where('column_id', 'in', [...columnIds]);
    for (const r of await q.execute()) out.set(`${r.row_id}/${r.column_id}`, { rowId: r.row_id, columnId: r.column_id, metadata: r.metadata, datasourceId: r.datasource_id });
  }
  return out;
}
