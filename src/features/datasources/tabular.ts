import { DEFAULT_MAX_COLUMNS, type Tabular, type TabularFormat } from './tabular-common.ts';
import { openDelimited } from './tabular-csv.ts';
import { openJson } from './tabular-json.ts';

export type { Tabular, TabularFormat } from './tabular-common.ts';

/**
 * Opens an uploaded table for streaming: reads just enough to know the columns (all of a JSON or
 * JSONL file, since any object may add a key), never the whole file at once. Malformed content
 * throws InvalidParametersError on path `file`, from here or later from `batches()`.
 */
export async function openTabular(path: string, format: TabularFormat, options: { maxColumns?: number } = {}): Promise<Tabular> {
  const maxColumns = options.maxColumns ?? DEFAULT_MAX_COLUMNS;
  switch (format) {
    case 'csv':
      return openDelimited(path, ',', maxColumns);
    case 'tsv':
      return openDelimited(path, '\t', maxColumns);
    case 'json':
    case 'jsonl':
      return openJson(path, format, maxColumns);
    case 'xlsx':
      // exceljs costs ~30 MB of memory once loaded: only servers that see workbooks pay it.
      return (await import('./tabular-xlsx.ts')).openXlsx(path, maxColumns);
  }
}
