import { cellsInRange, rowsInRange, type CellRecord } from '../../store/rows.ts';
import type { Db } from '../../store/store.ts';
import type { ExportColumn, ExportPage } from './writers/common.ts';

/**
 * Rows per read. Measured at 100,000 x 10 (bench/exports.bench.ts): with pages of 2000 rows each
 * page's ~20,000 cell objects outlive young-generation GC and CSV peaks near 290 MB RSS; at 500 it
 * stays near 170 MB and runs faster. The extra queries are index ranges, cheap on both backends.
 */
export const PAGE_ROWS = 500;

/**
 * The rows at positions [start, end) in pages, each cell lined up with `columns`. Positions are
 * dense, so each page is an index range and a short page is the last one. `selectedOnly` reads
 * only the exported columns' cells (a column subset); otherwise all cells of the rows are read.
 */
export async function* readPages(db: Db, datasetId: string, columns: readonly ExportColumn[], range: { start: number; end: number }, options: { metadata: boolean; selectedOnly: boolean }): AsyncGenerator<ExportPage> {
  const columnIndex = new Map(columns.map((c, i) => [c.id, i]));
  const columnIds = options.selectedOnly ? columns.map((c) => c.id) : undefined;
  for (let from = range.start; from < range.end; from += PAGE_ROWS) {
    const to = Math.min(from + PAGE_ROWS, range.end);
    const rows = await rowsInRange(db, datasetId, from, to);
    if (!rows.length) return;
    const cells = await cellsInRange(db, datasetId, from, to, { metadata: options.metadata, ...(columnIds ? { columnIds } : {}) });
    const rowIndex = new Map(rows.map((r, i) => [r.id, i]));
    const matrix = rows.map(() => new Array<CellRecord | undefined>(columns.length).fill(undefined));
    for (const cell of cells) {
      const r = rowIndex.get(cell.rowId);
      const c = columnIndex.get(cell.columnId);
      if (r !== undefined && c !== undefined) matrix[r]![c] = cell;
    }
    yield { rowIds: rows.map((r) => r.id), cells: matrix };
    if (rows.length < to - from) return;
  }
}
