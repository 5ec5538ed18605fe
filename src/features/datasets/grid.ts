import type { TaskType } from '../columns/task-types.ts';
import { dataTypeOf } from '../columns/data-type.ts';
import type { ColumnRecord } from '../../store/columns.ts';
import type { CellRecord, RawCell } from '../../store/rows.ts';
import { insertCells, insertRows, type NewCell } from '../../store/rows.ts';
import type { Db } from '../../store/store.ts';
import { cellId, newId } from '../../ids.ts';

export const columnView = (c: ColumnRecord) => ({ columnId: c.id, name: c.name, taskType: c.taskType as TaskType, metadata: c.metadata, position: c.position, dataType: dataTypeOf(c) });

/** Cells of a set of rows as the API's 2D array: one inner array per row, in column order. */
export function buildGrid(datasetId: string, columns: readonly ColumnRecord[], rowIds: readonly string[], cells: readonly CellRecord[], includeMetadata: boolean) {
  // Place each cell by index: no per-cell key strings on the hot path of /data.
  const rowIndex = new Map(rowIds.map((id, i) => [id, i]));
  const colIndex = new Map(columns.map((c, i) => [c.id, i]));
  const data: GridCell[][] = rowIds.map((rowId) =>
    columns.map((col) => {
      const empty: GridCell = { cellId: cellId(rowId, col.id), value: null, status: 'empty' };
      if (includeMetadata) empty.metadata = {};
      return empty;
    }),
  );
  for (const c of cells) {
    const r = rowIndex.get(c.rowId);
    const k = colIndex.get(c.columnId);
    if (r === undefined || k === undefined) continue;
    const target = data[r]![k]!;
    target.value = c.value;
    target.status = c.status;
    if (includeMetadata) target.metadata = c.metadata ?? {};
  }
  return { datasetId, columns: columns.map((c) => ({ columnId: c.id, name: c.name, taskType: c.taskType as TaskType })), rowIds: [...rowIds], data };
}
type GridCell = { cellId: string; value: unknown; status: CellRecord['status']; metadata?: Record<string, unknown> };

/**
 * The /data answer as JSON text: the same shape as buildGrid plus pagination, with each cell's
 * stored JSON spliced in as is. Ids are [a-z0-9_] and need no escaping; names go through
 * JSON.stringify.
 */
export function gridJson(datasetId: string, columns: readonly ColumnRecord[], rowIds: readonly string[], cells: readonly RawCell[], includeMetadata: boolean, pagination: object, rowMeta?: ReadonlyMap<string, { createdAt: string; updatedAt: string; datasourceId: string | null }>): string {
  const rowIndex = new Map(rowIds.map((id, i) => [id, i]));
  const colIndex = new Map(columns.map((c, i) => [c.id, i]));
  const placed: (RawCell | undefined)[][] = rowIds.map(() => new Array<RawCell | undefined>(columns.length));
  for (const c of cells) {
    const r = rowIndex.get(c.rowId);
    const k = colIndex.get(c.columnId);
    if (r !== undefined && k !== undefined) placed[r]![k] = c;
  }
  const rows = rowIds.map((rowId, r) => {
    const cellsJson = columns.map((col, k) => {
      const c = placed[r]![k];
      const meta = includeMetadata ? `,"metadata":${c?.metadata ?? '{}'}` : '';
      return `{"cellId":"${cellId(rowId, col.id)}","value":${c?.value ?? 'null'},"status":"${c?.status ?? 'empty'}"${meta}}`;
    });
    return `[${cellsJson.join(',')}]`;
  });
  // includeMetadata: row and column metadata too (SPEC: "row/column metadata").
  const columnsJson = JSON.stringify(columns.map((c) => (includeMetadata ? { columnId: c.id, name: c.name, taskType: c.taskType, metadata: c.metadata, dataType: dataTypeOf(c) } : { columnId: c.id, name: c.name, taskType: c.taskType })));
  const rowsJson = rowMeta ? `,"rows":${JSON.stringify(rowIds.map((rowId) => ({ rowId, ...(rowMeta.get(rowId) ?? {}) })))}` : '';
  return `{"datasetId":"${datasetId}","columns":${columnsJson},"rowIds":${JSON.stringify(rowIds)}${rowsJson},"data":[${rows.join(',')}],"pagination":${JSON.stringify(pagination)}}`;
}

/** A datasource link as it is stored in a raw cell. */
export type DatasourceLink = { datasourceId: string; fileName: string; contentType: string };
export const isDatasourceLink = (v: unknown): v is DatasourceLink => typeof v === 'object' && v !== null && typeof (v as DatasourceLink).datasourceId === 'string' && typeof (v as DatasourceLink).fileName === 'string';

/**
 * Appends rows: `values[i]` is aligned with `inputColumns`; every other column of the dataset gets
 * an empty cell. Returns the new row ids. Callers run this inside their transaction.
 */
export async function appendRows(db: Db, datasetId: string, allColumns: readonly ColumnRecord[], inputColumns: readonly ColumnRecord[], values: readonly (readonly unknown[])[], startPosition: number, at: string): Promise<string[]> {
  const inputIndex = new Map(inputColumns.map((c, i) => [c.id, i]));
  const rows = values.map((_, i) => ({ id: newId('row'), datasetId, position: startPosition + i, createdAt: at }));
  const cells: NewCell[] = [];
  rows.forEach((row, r) => {
    for (const col of allColumns) {
      const idx = inputIndex.get(col.id);
      const value = idx === undefined ? null : (values[r]![idx] ?? null);
      cells.push({ rowId: row.id, columnId: col.id, value, status: value === null ? 'empty' : 'done', datasourceId: isDatasourceLink(value) ? value.datasourceId : null });
    }
  });
  await insertRows(db, rows);
  await insertCells(db, cells, at);
  return rows.map((r) => r.id);
}
