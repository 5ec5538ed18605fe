/**
 * Turning an export's pages into bytes, with no store and no I/O: the part of an export that runs
 * on a format thread (format-pool.ts), or inline. Imports only the writers, so a thread loads little.
 */
import type { StoredCell } from '../../store/row-cells.ts';
import type { ExportCell, ExportColumn, ExportPage, WriteOptions } from './writers/common.ts';
import { pageLines } from './writers/csv.ts';
import { jsonPageText } from './writers/json.ts';

export type PageColumn = ExportColumn & { position: number };

/**
 * A page as the store gives it, not yet decoded: what the main thread reads and a format thread
 * (format-pool.ts) turns into bytes. `cells` is the rows' stored cells arrays (JSON) joined by
 * commas, as text or UTF-8 bytes; `meta` the exported cells' metadata text keyed `rowId/columnId`
 * (only with includeMetadata).
 */
export type RawPage = { rowIds: string[]; cells: string | Uint8Array; meta?: Map<string, string> };

/**
 * A raw page decoded, each cell lined up with `columns`. A stored row holds its cells in column
 * order (`position`: a column's place among the dataset's columns), so a column's cell is found at
 * its position (checked against the cell's id, which ends with the column id's body) without a
 * lookup or a new object per cell. Pure: runs on a format thread as well as on the main thread.
 */
export function decodePage(raw: RawPage, columns: readonly PageColumn[]): ExportPage {
  // Buffer's UTF-8 decoding: TextDecoder's was 0.13 s of an export of 100,000 rows x 10 columns.
  const text = typeof raw.cells === 'string' ? raw.cells : Buffer.from(raw.cells.buffer, raw.cells.byteOffset, raw.cells.byteLength).toString('utf8');
  // One parse for the page: the rows' arrays are joined by commas, so bracketed they are one array.
  const rows = raw.rowIds.length ? (JSON.parse(`[${text}]`) as StoredCell[][]) : [];
  if (rows.length !== raw.rowIds.length) throw new Error(`an export page of ${raw.rowIds.length} rows decoded to ${rows.length}`);
  const bodies = columns.map((c) => c.id.slice(4));
  const pick = (cells: StoredCell[], k: number): StoredCell | undefined => {
    const at = cells[columns[k]!.position];
    return at?.cellId.endsWith(bodies[k]!) ? at : cells.find((c) => c.cellId.endsWith(bodies[k]!));
  };
  const matrix = rows.map((cells, r) => {
    const line = new Array<ExportCell | undefined>(columns.length);
    for (let k = 0; k < columns.length; k++) {
      const c: ExportCell | undefined = pick(cells, k);
      if (c && raw.meta) c.metadata = JSON.parse(raw.meta.get(`${raw.rowIds[r]}/${columns[k]!.id}`) ?? '{}') as Record<string, unknown>;
      line[k] = c;
    }
    return line;
  });
  return { rowIds: raw.rowIds, cells: matrix };
}

/** What a format thread is given for one page. `keyTexts`: JSON's serialised keys (writers/json.ts jsonKeys). `first`: JSON's first written page. */
export type FormatJob = { format: 'csv' | 'json'; columns: readonly PageColumn[]; options: Pick<WriteOptions, 'includeMetadata'>; keyTexts: readonly string[]; first: boolean; page: RawPage };

/** A page's text in its file: exactly what writeCsv or writeJson writes for the decoded page. */
export function formatPage(job: FormatJob): string {
  const page = decodePage(job.page, job.columns);
  if (!page.rowIds.length) return '';
  return job.format === 'csv' ? pageLines(page, job.options.includeMetadata) : jsonPageText(page, job.keyTexts, job.options.includeMetadata, job.first);
}
