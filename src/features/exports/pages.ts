import { rowCellsInRange, type CellRecord } from '../../store/rows.ts';
import { cellMetaOf, columnOfCell, decodeRow } from '../../store/row-cells.ts';
import type { Db } from '../../store/store.ts';
import type { ExportColumn, ExportPage } from './writers/common.ts';

/**
 * Rows per read. Each row is one stored row holding its cells (store/row-cells.ts), decoded once;
 * pages of 1,000 keep memory near one page while the queries stay few.
 */
export const PAGE_ROWS = 1000;

/**
 * The rows at positions [start, end) in pages, each cell lined up with `columns`. Positions are
 * dense, so each page is an index range and a short page is the last one. Metadata, kept apart
 * from values, is read only when asked for (and then only the exported columns').
 */
export async function* readPages(db: Db, datasetId: string, columns: readonly ExportColumn[], range: { start: number; end: number }, options: { metadata: boolean }): AsyncGenerator<ExportPage> {
  const columnIndex = new Map(columns.map((c, i) => [c.id, i]));
  const columnIds = columns.map((c) => c.id);
  for (let from = range.start; from < range.end; from += PAGE_ROWS) {
    const to = Math.min(from + PAGE_ROWS, range.end);
    const rows = await rowCellsInRange(db, datasetId, from, to);
    if (!rows.length) return;
    const meta = options.metadata ? await cellMetaOf(db, rows.map((r) => r.id), columnIds) : undefined;
    const matrix = rows.map((row) => {
      const line = new Array<CellRecord | undefined>(columns.length).fill(undefined);
      for (const c of decodeRow(row.cells)) {
        const columnId = columnOfCell(c.cellId);
        const k = columnIndex.get(columnId);
        if (k === undefined) continue;
        const cell: CellRecord = { rowId: row.id, columnId, value: c.value, status: c.status };
        if (meta) cell.metadata = JSON.parse(meta.get(`${row.id}/${columnId}`)?.metadata ?? '{}') as Record<string, unknown>;
        line[k] = cell;
      }
      return line;
    });
    yield { rowIds: rows.map((r) => r.id), cells: matrix };
    if (rows.length < to - from) return;
  }
}
