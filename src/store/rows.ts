import { CompiledQuery, sql } from 'kysely';
import { type Db, isPostgres } from './store.ts';
import {
  cellMetaOf,
  changeDatasetRows,
  changeRows,
  columnOfCell,
  decodeRow,
  emptyCell,
  findStored,
  putCellMeta,
  type CellStatus,
  type StoredCell,
} from './row-cells.ts';
import { cellId } from '../ids.ts';
import { addRowText } from './row-search.ts';
import { syncNewRows, syncRowPositions } from './row-index.ts';

export type { CellStatus, StoredCell } from './row-cells.ts';
export type CellRecord = { rowId: string; columnId: string; value: unknown; status: CellStatus; metadata?: Record<string, unknown>; /** The metadata as stored (JSON text), when read for an answer that splices it in as is. */ metadataText?: string };
/** A new row: its cells already lined up with the dataset's columns (row-cells.ts encodeRow). */
export type NewRow = { id: string; datasetId: string; position: number; createdAt: string; cells: string; /** The tabular datasource the row came from. */ datasourceId?: string | null; /** `cells` decoded, when the caller has them (indexing new rows then skips decoding). */ decoded?: StoredCell[] };


/** Rows per INSERT on SQLite: one statement text for every full batch, prepared once (store.ts caches it). */
const SQLITE_ROWS_PER_INSERT = 500;
const sqliteInsert = (rows: number) => `INSERT INTO dataset_rows (id, dataset_id, position, created_at, cells, datasource_id) VALUES ${new Array<string>(rows).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`;
const SQLITE_INSERT = sqliteInsert(SQLITE_ROWS_PER_INSERT);

/** A value in COPY's text format: backslash, newline, carriage return and tab escaped; `\N` is null. */
function copyText(value: string | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return /[\\\n\r\t]/.test(value) ? value.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t')) : value;
}

export async function insertRows(db: Db, rows: readonly NewRow[]): Promise<void> {
  await insertRowDocuments(db, rows);
  // New rows of a dataset that was searched get their search text.
  await addRowText(db, rows);
}

/**
 * PostgreSQL: one COPY for the rows (store.ts withCopyFrom), in the caller's transaction. It
 * measured 1.6-2x faster than one INSERT per 5,000 rows with the rows in a JSON parameter, itself
 * faster than a VALUES list or text[] parameters. SQLite: INSERTs of 500 rows, compiled once
 * rather than built by the query builder for every batch.
 */
async function insertRowDocuments(db: Db, rows: readonly NewRow[]): Promise<void> {
  if (!rows.length) return;
  if (isPostgres(db)) {
    let data = '';
    for (const r of rows) data += `${r.id}\t${r.datasetId}\t${r.position}\t${r.createdAt}\t${copyText(r.cells)}\t${copyText(r.datasourceId)}\n`;
    await db.executeQuery(CompiledQuery.raw('COPY dataset_rows (id, dataset_id, position, created_at, cells, datasource_id) FROM STDIN', [data]));
  } else {
    for (let i = 0; i < rows.length; i += SQLITE_ROWS_PER_INSERT) {
      const end = Math.min(rows.length, i + SQLITE_ROWS_PER_INSERT);
      const parameters: unknown[] = [];
      for (let k = i; k < end; k++) {
        const r = rows[k]!;
        parameters.push(r.id, r.datasetId, r.position, r.createdAt, r.cells, r.datasourceId ?? null);
      }
      await db.executeQuery(CompiledQuery.raw(end - i === SQLITE_ROWS_PER_INSERT ? SQLITE_INSERT : sqliteInsert(end - i), parameters));
    }
  }
  // Rows of a dataset with indexed columns (a view filtered or sorted on them): index them too.
  const byDataset = new Map<string, NewRow[]>();
  for (const r of rows) (byDataset.get(r.datasetId) ?? byDataset.set(r.datasetId, []).get(r.datasetId)!).push(r);
  for (const [datasetId, list] of byDataset) await syncNewRows(db, datasetId, list);
}

/** Records which cells of new rows link a datasource (their metadata stays `{}`). */
export async function insertCellLinks(db: Db, links: readonly { rowId: string; columnId: string; datasourceId: string }[]): Promise<void> {
  await putCellMeta(db, links.map((l) => ({ rowId: l.rowId, columnId: l.columnId, metadata: '{}', datasourceId: l.datasourceId })));
}

/** Rows whose position is in [start, end): an index range on (dataset_id, position), never an OFFSET scan. */
export async function rowsInRange(db: Db, datasetId: string, start: number, end: number): Promise<{ id: string; position: number }[]> {
  const rows = await db.selectFrom('dataset_rows').select(['id', 'position']).where('dataset_id', '=', datasetId).where('position', '>=', start).where('position', '<', end).orderBy('position').execute();
  return rows.map((r) => ({ id: r.id, position: Number(r.position) }));
}

/**
 * Rows in [start, end) with their cells as stored: JSON text lined up with the columns, which the
 * /data page splices into its answer untouched.
 */
export async function rowCellsInRange(db: Db, datasetId: string, start: number, end: number): Promise<{ id: string; cells: string }[]> {
  return db.selectFrom('dataset_rows').select(['id', 'cells']).where('dataset_id', '=', datasetId).where('position', '>=', start).where('position', '<', end).orderBy('position').execute();
}

/**
 * The /data page's rows in [start, end) as one text: their ids, and their cells' stored JSON
 * joined by commas, as UTF-8 bytes ready to splice into the answer. SQLite reads it in one
 * statement as a blob (handed over as stored, where 1,000 strings would each be made and then
 * encoded again): 0.6 ms against 1.2 ms for 1,000 rows x 10 columns. The positions read are
 * checked to be the range's, in order; undefined tells the caller to read the rows one by one
 * (rowCellsInRange) should they not be.
 */
export async function rowPageInRange(db: Db, datasetId: string, start: number, end: number): Promise<{ ids: string[]; cells: Buffer } | undefined> {
  if (isPostgres(db)) {
    // PostgreSQL hands over one aggregated 1 MB text slower than the 1,000 rows it is made of
    // (12 ms against 5 ms for 1,000 rows x 10 columns, measured): read the rows, join them here.
    const rows = await db.selectFrom('dataset_rows').select(['id', 'position', 'cells']).where('dataset_id', '=', datasetId).where('position', '>=', start).where('position', '<', end).orderBy('position').execute();
    let size = Math.max(0, rows.length - 1);
    for (let i = 0; i < rows.length; i++) {
      if (Number(rows[i]!.position) !== start + i) return undefined;
      size += Buffer.byteLength(rows[i]!.cells);
    }
    const cells = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = 0; i < rows.length; i++) at += cells.write(i ? `,${rows[i]!.cells}` : rows[i]!.cells, at);
    return { ids: rows.map((r) => r.id), cells };
  }
  const got = await sql<{ ids: string | null; positions: string | null; cells: Uint8Array | null }>`SELECT group_concat(id, ',') AS ids, group_concat(position, ',') AS positions, CAST(group_concat(cells, ',') AS BLOB) AS cells
    FROM (SELECT id, position, cells FROM dataset_rows WHERE dataset_id = ${datasetId} AND position >= ${start} AND position < ${end} ORDER BY position) AS page`.execute(db);
  const row = got.rows[0];
  if (!row?.ids || row.positions === null || row.cells === null) return { ids: [], cells: Buffer.alloc(0) };
  const positions = row.positions.split(',');
  for (let i = 0; i < positions.length; i++) if (Number(positions[i]) !== start + i) return undefined;
  return { ids: row.ids.split(','), cells: Buffer.from(row.cells.buffer, row.cells.byteOffset, row.cells.byteLength) };
}

/**
 * Decoded cells of rows (in the given order), each with its column id, optionally some columns
 * only and with metadata: an object, or with `metadata: 'text'` the stored JSON text (`metadataText`,
 * `{}` for none), which an answer splices in without parsing and encoding it again.
 */
export async function cellsOfRows(db: Db, rows: readonly { id: string; cells: string }[], options: { columnIds?: readonly string[]; metadata: boolean | 'text' }): Promise<CellRecord[]> {
  const wanted = options.columnIds ? new Set(options.columnIds) : undefined;
  const meta = options.metadata ? await cellMetaOf(db, rows.map((r) => r.id), options.columnIds) : undefined;
  const out: CellRecord[] = [];
  for (const row of rows) {
    for (const c of decodeRow(row.cells)) {
      const columnId = columnOfCell(c.cellId);
      if (wanted && !wanted.has(columnId)) continue;
      const record: CellRecord = { rowId: row.id, columnId, value: c.value, status: c.status };
      if (meta) {
        const text = meta.get(`${row.id}/${columnId}`)?.metadata ?? '{}';
        if (options.metadata === 'text') record.metadataText = text;
        else record.metadata = JSON.parse(text) as Record<string, unknown>;
      }
      out.push(record);
    }
  }
  return out;
}

/** The cells of a range of rows, decoded, with or without metadata, optionally for some columns only. */
export async function cellsInRange(db: Db, datasetId: string, start: number, end: number, options: { columnIds?: readonly string[]; metadata: boolean }): Promise<CellRecord[]> {
  return cellsOfRows(db, await rowCellsInRange(db, datasetId, start, end), options);
}

export async function findCell(db: Db, datasetId: string, rowId: string, columnId: string): Promise<(CellRecord & { metadata: Record<string, unknown>; datasourceId: string | null }) | undefined> {
  const row = await db.selectFrom('dataset_rows').select(['cells']).where('id', '=', rowId).where('dataset_id', '=', datasetId).executeTakeFirst();
  const stored = row && findStored(decodeRow(row.cells), rowId, columnId);
  if (!stored) return undefined;
  const meta = await db.selectFrom('cell_meta').select(['metadata', 'datasource_id']).where('row_id', '=', rowId).where('column_id', '=', columnId).executeTakeFirst();
  return { rowId, columnId, value: stored.value, status: stored.status, metadata: JSON.parse(meta?.metadata ?? '{}') as Record<string, unknown>, datasourceId: meta?.datasource_id ?? null };
}

/** A user's edit: new value, metadata reset, status done (empty for null). False: no such cell in this dataset. */
export async function writeCellValue(db: Db, datasetId: string, rowId: string, columnId: string, value: unknown, datasourceId: string | null, at: string): Promise<boolean> {
  const row = await db.selectFrom('dataset_rows').select('id').where('id', '=', rowId).where('dataset_id', '=', datasetId).executeTakeFirst();
  if (!row) return false;
  const written = await changeRows(db, [rowId], at, (id, cells) => {
    const c = findStored(cells, id, columnId);
    if (!c) return false;
    c.value = value ?? null;
    c.status = value === null || value === undefined ? 'empty' : 'done';
    return true;
  });
  if (!written) return false;
  await putCellMeta(db, [{ rowId, columnId, metadata: '{}', datasourceId }]);
  return true;
}

/** Marks done cells of these columns stale, in one row or (rowId null) in every row of the dataset. */
export async function markStale(db: Db, datasetId: string, columnIds: readonly string[], rowId: string | null, at: string): Promise<void> {
  if (!columnIds.length) return;
  const targets = new Set(columnIds);
  const change = (_: string, cells: StoredCell[]) => {
    let changed = false;
    for (const c of cells) {
      if (c.status === 'done' && targets.has(columnOfCell(c.cellId))) {
        c.status = 'stale';
        changed = true;
      }
    }
    return changed;
  };
  if (rowId) await changeRows(db, [rowId], at, change);
  else await changeDatasetRows(db, datasetId, at, change);
}

/** Resets every cell of a column: value null, metadata {}, status empty. */
export async function resetColumnCells(db: Db, datasetId: string, columnId: string, at: string): Promise<void> {
  await changeDatasetRows(db, datasetId, at, (rowId, cells) => {
    const c = findStored(cells, rowId, columnId);
    if (!c || (c.value === null && c.status === 'empty')) return false;
    c.value = null;
    c.status = 'empty';
    return true;
  });
  await db.deleteFrom('cell_meta').where('column_id', '=', columnId).execute();
}

export async function findRows(db: Db, datasetId: string, rowIds: readonly string[]): Promise<{ id: string; position: number }[]> {
  if (!rowIds.length) return [];
  const rows = await db.selectFrom('dataset_rows').select(['id', 'position']).where('dataset_id', '=', datasetId).where('id', 'in', rowIds).execute();
  return rows.map((r) => ({ id: r.id, position: Number(r.position) }));
}

/**
 * Deletes rows (their metadata cascades) and renumbers the rest densely, so paging stays an index
 * range. The UPDATE ... FROM with a window function is the same statement in SQLite (3.33+) and PostgreSQL.
 */
export async function deleteRows(db: Db, datasetId: string, rowIds: readonly string[], fromPosition: number): Promise<void> {
  for (let i = 0; i < rowIds.length; i += 1000) await db.deleteFrom('dataset_rows').where('id', 'in', rowIds.slice(i, i + 1000)).execute();
  await sql`UPDATE dataset_rows SET position = r.rn
            FROM (SELECT id, row_number() OVER (ORDER BY position) - 1 + ${fromPosition} AS rn
                  FROM dataset_rows WHERE dataset_id = ${datasetId} AND position >= ${fromPosition}) AS r
            WHERE dataset_rows.id = r.id AND dataset_rows.position <> r.rn`.execute(db);
  await syncRowPositions(db, datasetId, fromPosition);
}

/** Whether any cell links this datasource, and from which datasets. */
export async function datasetsLinkingDatasource(db: Db, datasourceId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('cell_meta')
    .innerJoin('dataset_rows', 'dataset_rows.id', 'cell_meta.row_id')
    .select('dataset_rows.dataset_id')
    .distinct()
    .where('cell_meta.datasource_id', '=', datasourceId)
    .execute();
  return rows.map((r) => r.dataset_id);
}

/** A column's values (decoded), in row order, for converting them to another type. */
export async function columnValues(db: Db, datasetId: string, columnId: string): Promise<{ rowId: string; value: unknown }[]> {
  const rows = await db.selectFrom('dataset_rows').select(['id', 'cells']).where('dataset_id', '=', datasetId).orderBy('position').execute();
  const out: { rowId: string; value: unknown }[] = [];
  for (const r of rows) {
    const c = findStored(decodeRow(r.cells), r.id, columnId);
    if (c) out.push({ rowId: r.id, value: c.value });
  }
  return out;
}

/** New values for cells of one column, keeping their status and metadata (a type conversion). */
export async function setColumnValues(db: Db, columnId: string, values: readonly { rowId: string; value: unknown }[], at: string): Promise<void> {
  const byRow = new Map(values.map((v) => [v.rowId, v.value]));
  await changeRows(db, [...byRow.keys()], at, (rowId, cells) => {
    const c = findStored(cells, rowId, columnId);
    if (!c) return false;
    c.value = byRow.get(rowId) ?? null;
    return true;
  });
}

/** Each row's metadata: when it was created, when a cell of it last changed, the datasource it came from. */
export async function rowsMetadata(db: Db, rowIds: readonly string[]): Promise<Map<string, { createdAt: string; updatedAt: string; datasourceId: string | null }>> {
  if (!rowIds.length) return new Map();
  const rows = await db
    .selectFrom('dataset_rows as r')
    .leftJoin('cell_meta as m', (j) => j.onRef('m.row_id', '=', 'r.id').on('m.datasource_id', 'is not', null))
    .select((eb) => ['r.id', 'r.created_at', 'r.updated_at', 'r.datasource_id', eb.fn.min('m.datasource_id').as('cell_datasource')])
    .where('r.id', 'in', [...rowIds])
    .groupBy(['r.id', 'r.created_at', 'r.updated_at', 'r.datasource_id'])
    .execute();
  // A row of an extraction dataset comes from the document its raw cell links.
  return new Map(rows.map((r) => [r.id, { createdAt: r.created_at, updatedAt: r.updated_at ?? r.created_at, datasourceId: r.datasource_id ?? (r.cell_datasource as string | null) ?? null }]));
}

/** The cells of some columns of a dataset, values and metadata decoded (staleness checks on a column change). */
export async function columnsCells(db: Db, datasetId: string, columnIds: readonly string[]): Promise<{ rowId: string; columnId: string; value: unknown; status: CellStatus; metadata: Record<string, unknown> }[]> {
  if (!columnIds.length) return [];
  const out: { rowId: string; columnId: string; value: unknown; status: CellStatus; metadata: Record<string, unknown> }[] = [];
  let after = -1;
  for (;;) {
    const rows = await db.selectFrom('dataset_rows').select(['id', 'cells', 'position']).where('dataset_id', '=', datasetId).where('position', '>', after).orderBy('position').limit(2000).execute();
    if (!rows.length) return out;
    after = Number(rows[rows.length - 1]!.position);
    for (const c of await cellsOfRows(db, rows, { columnIds, metadata: true })) out.push({ ...c, metadata: c.metadata ?? {} });
  }
}

/** Sets the status of cells (done <-> stale after a column change). */
export async function setCellStatuses(db: Db, cells: readonly { rowId: string; columnId: string; status: CellStatus }[], at: string): Promise<void> {
  const byRow = new Map<string, Map<string, CellStatus>>();
  for (const c of cells) (byRow.get(c.rowId) ?? byRow.set(c.rowId, new Map()).get(c.rowId)!).set(cellId(c.rowId, c.columnId), c.status);
  await changeRows(db, [...byRow.keys()], at, (rowId, stored) => {
    const want = byRow.get(rowId)!;
    let changed = false;
    for (const c of stored) {
      const s = want.get(c.cellId);
      if (s && s !== c.status) {
        c.status = s;
        changed = true;
      }
    }
    return changed;
  });
}

/**
 * Gives every row of the dataset an empty cell for a new column at `position` (its place among the
 * columns), in the caller's transaction.
 */
export async function addColumnCells(db: Db, datasetId: string, columnId: string, position: number, at: string): Promise<void> {
  await changeDatasetRows(db, datasetId, at, (rowId, cells) => {
    cells.splice(Math.min(position, cells.length), 0, emptyCell(rowId, columnId));
    return true;
  });
}

/** Takes a deleted column's cells out of every row (its metadata rows go with the column's foreign key). */
export async function removeColumnCells(db: Db, datasetId: string, columnId: string, at: string): Promise<void> {
  await changeDatasetRows(db, datasetId, at, (rowId, cells) => {
    const id = cellId(rowId, columnId);
    const i = cells.findIndex((c) => c.cellId === id);
    if (i < 0) return false;
    cells.splice(i, 1);
    return true;
  });
}

