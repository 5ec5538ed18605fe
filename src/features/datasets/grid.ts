import type { TaskType } from '../columns/task-types.ts';
import { dataTypeOf } from '../columns/data-type.ts';
import type { ColumnRecord } from '../../store/columns.ts';
import type { CellRecord, NewRow } from '../../store/rows.ts';
import { insertCellLinks, insertRows } from '../../store/rows.ts';
import { encodeNewRow } from '../../store/row-cells.ts';
import type { Db } from '../../store/store.ts';
import { cellId, newId } from '../../ids.ts';

export const columnView = (c: ColumnRecord) => ({ columnId: c.id, name: c.name, taskType: c.taskType as TaskType, metadata: c.metadata, position: c.position, dataType: dataTypeOf(c) });

/**
 * A page of rows as JSON (UTF-8 bytes) in the /data shape (datasetId, columns, rowIds, data), followed by
 * the fields of `tail` (pagination; rowCount). `stored`: each row's
 * cells as stored (store/row-cells.ts), already this shape and in column order, spliced in as is.
 * `joined`: the same text already joined by commas, as bytes (store/rows.ts rowPageInRange).
 * `cells`: decoded cells (a column subset, or with metadata), placed by row and column. Ids are
 * [a-z0-9_] and need no escaping; names go through JSON.stringify.
 */
export function gridJson(datasetId: string, columns: readonly ColumnRecord[], rowIds: readonly string[], source: { stored: readonly string[] } | { joined: Buffer } | { cells: readonly CellRecord[] }, includeMetadata: boolean, tail: Record<string, unknown>, rowMeta?: ReadonlyMap<string, { createdAt: string; updatedAt: string; datasourceId: string | null }>): Buffer<ArrayBuffer> {
  let data: readonly string[];
  if ('joined' in source) data = [];
  else if ('stored' in source) data = source.stored;
  else {
    const rowIndex = new Map(rowIds.map((id, i) => [id, i]));
    const colIndex = new Map(columns.map((c, i) => [c.id, i]));
    const placed: (CellRecord | undefined)[][] = rowIds.map(() => new Array<CellRecord | undefined>(columns.length));
    for (const c of source.cells) {
      const r = rowIndex.get(c.rowId);
      const k = colIndex.get(c.columnId);
      if (r !== undefined && k !== undefined) placed[r]![k] = c;
    }
    const rows = rowIds.map((rowId, r) => {
      const cellsJson = columns.map((col, k) => {
        const c = placed[r]![k];
        const meta = includeMetadata ? `,"metadata":${c?.metadataText ?? JSON.stringify(c?.metadata ?? {})}` : '';
        return `{"cellId":"${cellId(rowId, col.id)}","value":${JSON.stringify(c?.value ?? null)},"status":"${c?.status ?? 'empty'}"${meta}}`;
      });
      return `[${cellsJson.join(',')}]`;
    });
    data = rows;
  }
  // includeMetadata: row and column metadata too (SPEC: "row/column metadata").
  const columnsJson = JSON.stringify(columns.map((c) => (includeMetadata ? { columnId: c.id, name: c.name, taskType: c.taskType, metadata: c.metadata, dataType: dataTypeOf(c) } : { columnId: c.id, name: c.name, taskType: c.taskType })));
  const rowsJson = rowMeta ? `,"rows":${JSON.stringify(rowIds.map((rowId) => ({ rowId, ...(rowMeta.get(rowId) ?? {}) })))}` : '';
  const tailJson = Object.entries(tail).map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('');
  const head = `{"datasetId":"${datasetId}","columns":${columnsJson},"rowIds":${JSON.stringify(rowIds)}${rowsJson},"data":[`;
  if ('joined' in source) return Buffer.concat([Buffer.from(head), source.joined, Buffer.from(`]${tailJson}}`)]) as Buffer<ArrayBuffer>;
  return utf8Of([head, data, `]${tailJson}}`]);
}

/**
 * The UTF-8 bytes of head + rows joined by commas + end, written straight into one buffer: no
 * joined 1 MB string and no second copy when it is encoded (0.47 ms against 1.35 ms for a page of
 * 1,000 rows x 10 columns).
 */
function utf8Of([head, rows, end]: [string, readonly string[], string]): Buffer<ArrayBuffer> {
  let size = Buffer.byteLength(head) + Buffer.byteLength(end) + Math.max(0, rows.length - 1);
  for (const r of rows) size += Buffer.byteLength(r);
  const out = Buffer.allocUnsafe(size);
  let at = out.write(head, 0);
  for (let i = 0; i < rows.length; i++) {
    if (i) at += out.write(',', at);
    at += out.write(rows[i]!, at);
  }
  out.write(end, at);
  return out;
}

/** A datasource link as it is stored in a raw cell. */
export type DatasourceLink = { datasourceId: string; fileName: string; contentType: string };
export const isDatasourceLink = (v: unknown): v is DatasourceLink => typeof v === 'object' && v !== null && typeof (v as DatasourceLink).datasourceId === 'string' && typeof (v as DatasourceLink).fileName === 'string';

/**
 * Appends rows: `values[i]` is aligned with `inputColumns`; every other column of the dataset gets
 * an empty cell. Each row is stored with its cells (store/row-cells.ts); cells holding a datasource
 * link record it apart. Returns the new row ids. Callers run this inside their transaction.
 */
export async function appendRows(db: Db, datasetId: string, allColumns: readonly ColumnRecord[], inputColumns: readonly ColumnRecord[], values: readonly (readonly unknown[])[], startPosition: number, at: string, datasourceId: string | null = null): Promise<string[]> {
  return (await appendStoredRows(db, datasetId, allColumns, inputColumns, values, startPosition, at, datasourceId)).map((r) => r.id);
}

/** appendRows, answering with each new row's id and its cells as stored (the /data shape, as JSON text). */
export async function appendStoredRows(db: Db, datasetId: string, allColumns: readonly ColumnRecord[], inputColumns: readonly ColumnRecord[], values: readonly (readonly unknown[])[], startPosition: number, at: string, datasourceId: string | null = null): Promise<{ id: string; cells: string }[]> {
  const inputIndex = new Map(inputColumns.map((c, i) => [c.id, i]));
  const ordered = [...allColumns].sort((a, b) => a.position - b.position);
  const slots = ordered.map((c) => inputIndex.get(c.id) ?? -1);
  const columnIds = ordered.map((c) => c.id);
  const links: { rowId: string; columnId: string; datasourceId: string }[] = [];
  const rows: NewRow[] = new Array<NewRow>(values.length);
  for (let i = 0; i < values.length; i++) {
    const row = values[i]!;
    const id = newId('row');
    const cells = encodeNewRow(id, columnIds, (k) => {
      const value = slots[k]! < 0 ? null : (row[slots[k]!] ?? null);
      if (value !== null && isDatasourceLink(value)) links.push({ rowId: id, columnId: columnIds[k]!, datasourceId: value.datasourceId });
      return value;
    });
    rows[i] = { id, datasetId, position: startPosition + i, createdAt: at, cells, datasourceId };
  }
  await insertRows(db, rows);
  await insertCellLinks(db, links);
  return rows;
}
