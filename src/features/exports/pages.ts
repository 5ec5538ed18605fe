import { rowCellsInRange } from '../../store/rows.ts';
import { cellMetaOf, decodeRow, type StoredCell } from '../../store/row-cells.ts';
import type { Db } from '../../store/store.ts';
import type { ExportCell, ExportColumn, ExportPage } from './writers/common.ts';

/**
 * Rows per read. Each row is one stored row holding its cells (store/row-cells.ts), decoded once;
 * pages of 1,000 keep memory near one page while the queries stay few.
 */
export const PAGE_ROWS = 1000;

/**
 * The rows at positions [start, end) in pages, each cell lined up with `columns`. Positions are
 * dense, so each page is an index range and a short page is the last one. A stored row holds its
 * cells in column order (`position`: a column's place among the dataset's columns), so a column's
 * cell is found at its position (checked against the cell's id, which ends with the column id's
 * body) without a lookup or a new object per cell. Metadata, kept apart from values, is read only when asked for (and then only the exported columns').
 */
export async function* readPages(db: Db, datasetId: string, columns: readonly (ExportColumn & { position: number })[], range: { start: number; end: number }, options: { metadata: boolean }): AsyncGenerator<ExportPage> {
  yield* pagesOf(db, columns, positionRanges(db, datasetId, range), options);
}

async function* positionRanges(db: Db, datasetId: string, range: { start: number; end: number }): AsyncGenerator<{ id: string; cells: string }[]> {
  for (let from = range.start; from < range.end; from += PAGE_ROWS) {
    const to = Math.min(from + PAGE_ROWS, range.end);
    const rows = await rowCellsInRange(db, datasetId, from, to);
    if (!rows.length) return;
    yield rows;
    if (rows.length < to - from) return;
  }
}

/** Export pages of stored rows as they come (a position range, or a view's pages: features/views). */
export async function* pagesOf(db: Db, columns: readonly (ExportColumn & { position: number })[], source: AsyncIterable<readonly { id: string; cells: string }[]>, options: { metadata: boolean }): AsyncGenerator<ExportPage> {
  const columnIds = columns.map((c) => c.id);
  const bodies = columns.map((c) => c.id.slice(4));
  const pick = (cells: StoredCell[], k: number): StoredCell | undefined => {
    const at = cells[columns[k]!.position];
    return at?.cellId.endsWith(bodies[k]!) ? at : cells.find((c) => c.cellId.endsWith(bodies[k]!));
  };
  for await (const rows of source) {
    const meta = options.metadata ? await cellMetaOf(db, rows.map((r) => r.id), columnIds) : undefined;
    const matrix = rows.map((row) => {
      const cells = decodeRow(row.cells);
      const line = new Array<ExportCell | undefined>(columns.length);
      for (let k = 0; k < columns.length; k++) {
        const c: ExportCell | undefined = pick(cells, k);
        if (c && meta) c.metadata = JSON.parse(meta.get(`${row.id}/${columnIds[k]}`)?.metadata ?? '{}') as Record<string, unknown>;
        line[k] = c;
      }
      return line;
    });
    yield { rowIds: rows.map((r) => r.id), cells: matrix };
  }
}
