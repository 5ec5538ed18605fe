import { rowCellsInRange, rowPageInRange } from '../../store/rows.ts';
import { cellMetaOf } from '../../store/row-cells.ts';
import type { Db } from '../../store/store.ts';
import { decodePage, type PageColumn, type RawPage } from './page-format.ts';
import type { ExportPage } from './writers/common.ts';

/**
 * Rows per read. Each row is one stored row holding its cells (store/row-cells.ts), decoded once;
 * pages of 1,000 keep memory near one page while the queries stay few.
 */
export const PAGE_ROWS = 1000;

/**
 * The rows at positions [start, end) in pages. Positions are dense, so each page is an index
 * range and a short page is the last one. A page is read as one joined text (rowPageInRange: on
 * SQLite one blob instead of 1,000 strings), or row by row should its positions not be dense.
 */
export async function* readRawPages(db: Db, datasetId: string, columns: readonly PageColumn[], range: { start: number; end: number }, options: { metadata: boolean }): AsyncGenerator<RawPage> {
  for (let from = range.start; from < range.end; from += PAGE_ROWS) {
    const to = Math.min(from + PAGE_ROWS, range.end);
    const joined = await rowPageInRange(db, datasetId, from, to);
    const page: RawPage = joined ? { rowIds: joined.ids, cells: joined.cells } : joinRows(await rowCellsInRange(db, datasetId, from, to));
    if (!page.rowIds.length) return;
    if (options.metadata) page.meta = await metaOf(db, page.rowIds, columns);
    yield page;
    if (page.rowIds.length < to - from) return;
  }
}

/** Raw pages of stored rows as they come (a view's pages: features/views). */
export async function* rawPagesOf(db: Db, columns: readonly PageColumn[], source: AsyncIterable<readonly { id: string; cells: string }[]>, options: { metadata: boolean }): AsyncGenerator<RawPage> {
  for await (const rows of source) {
    const page = joinRows(rows);
    if (options.metadata) page.meta = await metaOf(db, page.rowIds, columns);
    yield page;
  }
}

const joinRows = (rows: readonly { id: string; cells: string }[]): RawPage => ({ rowIds: rows.map((r) => r.id), cells: rows.map((r) => r.cells).join(',') });

async function metaOf(db: Db, rowIds: readonly string[], columns: readonly PageColumn[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [key, m] of await cellMetaOf(db, rowIds, columns.map((c) => c.id))) out.set(key, m.metadata);
  return out;
}

/** Raw pages decoded on this thread (the XLSX writer's input). */
export async function* decodedPages(raw: AsyncIterable<RawPage>, columns: readonly PageColumn[]): AsyncGenerator<ExportPage> {
  for await (const page of raw) yield decodePage(page, columns);
}
