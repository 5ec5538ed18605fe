import type { Readable } from 'node:stream';
import type { CellStatus } from '../../../store/rows.ts';

export type ExportColumn = { id: string; name: string };
/** A cell as a writer sees it. */
export type ExportCell = { value: unknown; status: CellStatus; metadata?: Record<string, unknown> };

/** One page of rows: `cells[r][c]` belongs to `rowIds[r]` and the export's `columns[c]` (undefined: no cell stored). */
export type ExportPage = { rowIds: string[]; cells: (ExportCell | undefined)[][] };
export type WriteOptions = { columns: readonly ExportColumn[]; includeMetadata: boolean };

/**
 * A format writer: turns pages of rows into the bytes of one file. It pulls the next page only
 * when the consumer has taken the previous one, so memory stays at about one page.
 */
export type ExportWriter = (pages: AsyncIterable<ExportPage>, options: WriteOptions) => Readable;

/** The three metadata columns CSV and XLSX add after each column when includeMetadata is set. */
export const METADATA_SUFFIXES = ['status', 'confidence', 'sources'] as const;

export function headerNames({ columns, includeMetadata }: WriteOptions): string[] {
  if (!includeMetadata) return columns.map((c) => c.name);
  return columns.flatMap((c) => [c.name, ...METADATA_SUFFIXES.map((s) => `${c.name} (${s})`)]);
}

/** status, confidence (a number or null) and sources (JSON text or null) of a cell. */
export function metadataFields(cell: ExportCell | undefined): [string, number | null, string | null] {
  const metadata = cell?.metadata ?? {};
  const confidence = typeof metadata.confidence === 'number' ? metadata.confidence : null;
  const sources = metadata.sources === undefined || metadata.sources === null ? null : JSON.stringify(metadata.sources);
  return [cell?.status ?? 'empty', confidence, sources];
}
