import { PostgresAdapter, sql } from 'kysely';
import type { Db } from './store.ts';

export type CellStatus = 'empty' | 'queued' | 'processing' | 'done' | 'error' | 'stale';
export type CellRecord = { rowId: string; columnId: string; value: unknown; status: CellStatus; metadata?: Record<string, unknown> };
export type NewCell = { rowId: string; columnId: string; value: unknown; status: CellStatus; datasourceId: string | null };

/** Parameters per multi-row INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 limits. */
const MAX_PARAMS = 16_000;

const encode = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
const decode = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

const isPostgres = (db: Db) => db.getExecutor().adapter instanceof PostgresAdapter;
/** Rows per UNNEST insert on PostgreSQL: 7 array parameters carry the whole batch. */
const PG_BATCH = 20_000;

export async function insertRows(db: Db, rows: readonly { id: string; datasetId: string; position: number; createdAt: string }[]): Promise<void> {
  if (isPostgres(db)) {
    // One statement with array parameters: PostgreSQL plans a 16,000-parameter VALUES list slowly.
    for (let i = 0; i < rows.length; i += PG_BATCH) {
      const chunk = rows.slice(i, i + PG_BATCH);
      await sql`INSERT INTO dataset_rows (id, dataset_id, position, created_at)
                SELECT * FROM unnest(${chunk.map((r) => r.id)}::text[], ${chunk.map((r) => r.datasetId)}::text[], ${chunk.map((r) => r.position)}::int[], ${chunk.map((r) => r.createdAt)}::text[])`.execute(db);
    }
    return;
  }
  for (let i = 0; i < rows.length; i += MAX_PARAMS / 4) {
    const chunk = rows.slice(i, i + MAX_PARAMS / 4);
    await db.insertInto('dataset_rows').values(chunk.map((r) => ({ id: r.id, dataset_id: r.datasetId, position: r.position, created_at: r.createdAt }))).execute();
  }
}

export async function insertCells(db: Db, cells: readonly NewCell[], at: string): Promise<void> {
  if (isPostgres(db)) {
    for (let i = 0; i < cells.length; i += PG_BATCH) {
      const chunk = cells.slice(i, i + PG_BATCH);
      await sql`INSERT INTO cells (row_id, column_id, value, status, metadata, datasource_id, updated_at)
                SELECT r, c, v, s, '{}', d, ${at} FROM unnest(${chunk.map((x) => x.rowId)}::text[], ${chunk.map((x) => x.columnId)}::text[], ${chunk.map((x) => encode(x.value))}::text[], ${chunk.map((x) => x.status)}::text[], ${chunk.map((x) => x.datasourceId)}::text[]) AS t(r, c, v, s, d)`.execute(db);
    }
    return;
  }
  for (let i = 0; i < cells.length; i += MAX_PARAMS / 7) {
    const chunk = cells.slice(i, i + MAX_PARAMS / 7);
    await db
      .insertInto('cells')
      .values(chunk.map((c) => ({ row_id: c.rowId, column_id: c.columnId, value: encode(c.value), status: c.status, metadata: '{}', datasource_id: c.datasourceId, updated_at: at })))
      .execute();
  }
}

/** Rows whose position is in [start, end): an index range on (dataset_id, position), never an OFFSET scan. */
export async function rowsInRange(db: Db, datasetId: string, start: number, end: number): Promise<{ id: string; position: number }[]> {
  const rows = await db.selectFrom('dataset_rows').select(['id', 'position']).where('dataset_id', '=', datasetId).where('position', '>=', start).where('position', '<', end).orderBy('position').execute();
  return rows.map((r) => ({ id: r.id, position: Number(r.position) }));
}

/** A cell as stored: value and metadata still JSON text (null value = SQL NULL). */
export type RawCell = { rowId: string; columnId: string; value: string | null; status: CellStatus; metadata?: string };

/**
 * The cells of a range of rows as stored, for callers that pass the JSON through untouched (the
 * /data page splices it into the response instead of parsing and re-serialising 10,000 values).
 */
export async function rawCellsInRange(db: Db, datasetId: string, start: number, end: number, options: { columnIds?: readonly string[]; metadata: boolean }): Promise<RawCell[]> {
  let q = db
    .selectFrom('dataset_rows')
    .innerJoin('cells', 'cells.row_id', 'dataset_rows.id')
    .select(['cells.row_id', 'cells.column_id', 'cells.value', 'cells.status'])
    .where('dataset_rows.dataset_id', '=', datasetId)
    .where('dataset_rows.position', '>=', start)
    .where('dataset_rows.position', '<', end);
  if (options.columnIds) q = q.where('cells.column_id', 'in', options.columnIds);
  if (options.metadata) {
    const rows = await q.select('cells.metadata').execute();
    return rows.map((r) => ({ rowId: r.row_id, columnId: r.column_id, value: r.value, status: r.status as CellStatus, metadata: r.metadata }));
  }
  const rows = await q.execute();
  return rows.map((r) => ({ rowId: r.row_id, columnId: r.column_id, value: r.value, status: r.status as CellStatus }));
}

/** The cells of a range of rows, decoded, with or without metadata, optionally for some columns only. */
export async function cellsInRange(db: Db, datasetId: string, start: number, end: number, options: { columnIds?: readonly string[]; metadata: boolean }): Promise<CellRecord[]> {
  return (await rawCellsInRange(db, datasetId, start, end, options)).map((c) => ({
    rowId: c.rowId,
    columnId: c.columnId,
    value: decode(c.value),
    status: c.status,
    ...(c.metadata !== undefined ? { metadata: JSON.parse(c.metadata) as Record<string, unknown> } : {}),
  }));
}

export async function findCell(db: Db, datasetId: string, rowId: string, columnId: string): Promise<(CellRecord & { metadata: Record<string, unknown>; datasourceId: string | null }) | undefined> {
  const r = await db
    .selectFrom('cells')
    .innerJoin('dataset_rows', 'dataset_rows.id', 'cells.row_id')
    .select(['cells.row_id', 'cells.column_id', 'cells.value', 'cells.status', 'cells.metadata', 'cells.datasource_id'])
    .where('cells.row_id', '=', rowId)
    .where('cells.column_id', '=', columnId)
    .where('dataset_rows.dataset_id', '=', datasetId)
    .executeTakeFirst();
  return r && { rowId: r.row_id, columnId: r.column_id, value: decode(r.value), status: r.status as CellStatus, metadata: JSON.parse(r.metadata) as Record<string, unknown>, datasourceId: r.datasource_id };
}

/** A user's edit: new value, metadata reset, status done (empty for null). */
export async function writeCellValue(db: Db, rowId: string, columnId: string, value: unknown, datasourceId: string | null, at: string): Promise<void> {
  await db
    .updateTable('cells')
    .set({ value: encode(value), status: value === null ? 'empty' : 'done', metadata: '{}', datasource_id: datasourceId, updated_at: at })
    .where('row_id', '=', rowId)
    .where('column_id', '=', columnId)
    .execute();
}

/** Marks done cells of these columns stale, in one row or (rowId null) in every row. */
export async function markStale(db: Db, columnIds: readonly string[], rowId: string | null, at: string): Promise<void> {
  if (!columnIds.length) return;
  let q = db.updateTable('cells').set({ status: 'stale', updated_at: at }).where('column_id', 'in', columnIds).where('status', '=', 'done');
  if (rowId) q = q.where('row_id', '=', rowId);
  await q.execute();
}

/** Resets every cell of a column: value null, metadata {}, status empty. */
export async function resetColumnCells(db: Db, columnId: string, at: string): Promise<void> {
  await db.updateTable('cells').set({ value: null, status: 'empty', metadata: '{}', datasource_id: null, updated_at: at }).where('column_id', '=', columnId).execute();
}

export async function findRows(db: Db, datasetId: string, rowIds: readonly string[]): Promise<{ id: string; position: number }[]> {
  if (!rowIds.length) return [];
  const rows = await db.selectFrom('dataset_rows').select(['id', 'position']).where('dataset_id', '=', datasetId).where('id', 'in', rowIds).execute();
  return rows.map((r) => ({ id: r.id, position: Number(r.position) }));
}

/**
 * Deletes rows (cells cascade) and renumbers the rest densely, so paging stays an index range.
 * The UPDATE ... FROM with a window function is the same statement in SQLite (3.33+) and PostgreSQL.
 */
export async function deleteRows(db: Db, datasetId: string, rowIds: readonly string[], fromPosition: number): Promise<void> {
  for (let i = 0; i < rowIds.length; i += 1000) await db.deleteFrom('dataset_rows').where('id', 'in', rowIds.slice(i, i + 1000)).execute();
  await sql`UPDATE dataset_rows SET position = r.rn
            FROM (SELECT id, row_number() OVER (ORDER BY position) - 1 + ${fromPosition} AS rn
                  FROM dataset_rows WHERE dataset_id = ${datasetId} AND position >= ${fromPosition}) AS r
            WHERE dataset_rows.id = r.id AND dataset_rows.position <> r.rn`.execute(db);
}

/** Whether any cell links this datasource, and from which datasets. */
export async function datasetsLinkingDatasource(db: Db, datasourceId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('cells')
    .innerJoin('dataset_rows', 'dataset_rows.id', 'cells.row_id')
    .select('dataset_rows.dataset_id')
    .distinct()
    .where('cells.datasource_id', '=', datasourceId)
    .execute();
  return rows.map((r) => r.dataset_id);
}

/** Every row of a new dataset came from this datasource (a tabular import). */
export async function setRowsDatasource(db: Db, datasetId: string, datasourceId: string): Promise<void> {
  await db.updateTable('dataset_rows').set({ datasource_id: datasourceId }).where('dataset_id', '=', datasetId).execute();
}

/**
 * Brings a CSV/TSV column's stored values in line with its inferred type (see
 * features/columns/data-type.ts): numbers back to the text they were read from, exponent text to
 * numbers, true/false text to booleans. Values are JSON text, so this is string surgery that both
 * backends run alike (substr, length, lower and || are common to SQLite and PostgreSQL).
 */
export async function retypeColumn(db: Db, columnId: string, to: 'text' | 'number' | 'boolean'): Promise<void> {
  const q = db.updateTable('cells').where('column_id', '=', columnId).where('value', 'is not', null);
  if (to === 'text') await q.set({ value: sql<string>`'"' || value || '"'` }).where(sql<boolean>`substr(value, 1, 1) <> '"'`).execute();
  else if (to === 'number') await q.set({ value: sql<string>`substr(value, 2, length(value) - 2)` }).where(sql<boolean>`substr(value, 1, 1) = '"'`).execute();
  else await q.set({ value: sql<string>`CASE WHEN lower(value) = '"true"' THEN 'true' ELSE 'false' END` }).execute();
}

/** A column's values (decoded), for converting them to another type. */
export async function columnValues(db: Db, columnId: string): Promise<{ rowId: string; value: unknown }[]> {
  const rows = await db.selectFrom('cells').innerJoin('dataset_rows', 'dataset_rows.id', 'cells.row_id').select(['cells.row_id', 'cells.value']).where('cells.column_id', '=', columnId).orderBy('dataset_rows.position').execute();
  return rows.map((r) => ({ rowId: r.row_id, value: decode(r.value) }));
}

/** New values for cells of one column, keeping their status and metadata (a type conversion). */
export async function setColumnValues(db: Db, columnId: string, values: readonly { rowId: string; value: unknown }[], at: string): Promise<void> {
  for (const v of values) await db.updateTable('cells').set({ value: encode(v.value), updated_at: at }).where('row_id', '=', v.rowId).where('column_id', '=', columnId).execute();
}

/** Each row's metadata: when it was created, when a cell of it last changed, the datasource it came from. */
export async function rowsMetadata(db: Db, rowIds: readonly string[]): Promise<Map<string, { createdAt: string; updatedAt: string; datasourceId: string | null }>> {
  if (!rowIds.length) return new Map();
  const rows = await db
    .selectFrom('dataset_rows as r')
    .leftJoin('cells as c', 'c.row_id', 'r.id')
    .select((eb) => ['r.id', 'r.created_at', 'r.datasource_id', eb.fn.max('c.updated_at').as('updated_at'), eb.fn.min('c.datasource_id').as('cell_datasource')])
    .where('r.id', 'in', [...rowIds])
    .groupBy(['r.id', 'r.created_at', 'r.datasource_id'])
    .execute();
  // A row of an extraction dataset comes from the document its raw cell links.
  return new Map(rows.map((r) => [r.id, { createdAt: r.created_at, updatedAt: (r.updated_at as string | null) ?? r.created_at, datasourceId: r.datasource_id ?? (r.cell_datasource as string | null) ?? null }]));
}

/** The cells of some columns of a dataset, values and metadata decoded (staleness checks on a column change). */
export async function columnsCells(db: Db, datasetId: string, columnIds: readonly string[]): Promise<{ rowId: string; columnId: string; value: unknown; status: CellStatus; metadata: Record<string, unknown> }[]> {
  if (!columnIds.length) return [];
  const rows = await db
    .selectFrom('cells')
    .innerJoin('dataset_rows', 'dataset_rows.id', 'cells.row_id')
    .select(['cells.row_id', 'cells.column_id', 'cells.value', 'cells.status', 'cells.metadata'])
    .where('dataset_rows.dataset_id', '=', datasetId)
    .where('cells.column_id', 'in', [...columnIds])
    .execute();
  return rows.map((r) => ({ rowId: r.row_id, columnId: r.column_id, value: decode(r.value), status: r.status as CellStatus, metadata: JSON.parse(r.metadata) as Record<string, unknown> }));
}

/** Sets the status of cells (done <-> stale after a column change): one statement per column, status and 1000 rows. */
export async function setCellStatuses(db: Db, cells: readonly { rowId: string; columnId: string; status: CellStatus }[], at: string): Promise<void> {
  const groups = new Map<string, { columnId: string; status: CellStatus; rowIds: string[] }>();
  for (const c of cells) {
    const key = `${c.columnId}/${c.status}`;
    (groups.get(key) ?? groups.set(key, { columnId: c.columnId, status: c.status, rowIds: [] }).get(key)!).rowIds.push(c.rowId);
  }
  for (const g of groups.values()) {
    for (let i = 0; i < g.rowIds.length; i += 1000) {
      await db.updateTable('cells').set({ status: g.status, updated_at: at }).where('column_id', '=', g.columnId).where('row_id', 'in', g.rowIds.slice(i, i + 1000)).execute();
    }
  }
}
