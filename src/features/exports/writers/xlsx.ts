import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Worksheet } from 'exceljs';
import { headerNames, metadataFields, type ExportPage, type ExportWriter } from './common.ts';

// Excel refuses (and "repairs" away) a cell holding more text than this.
const MAX_CELL_TEXT = 32_767;

/**
 * A cell as a typed XLSX value: numbers and booleans stay so, objects and arrays become JSON
 * text, null an empty cell. Strings are written as strings, never formulas, so they need no
 * injection guard here; over-long text is cut at Excel's limit rather than making the file unreadable.
 */
export function xlsxValue(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text.length <= MAX_CELL_TEXT) return text;
  // Do not leave half a surrogate pair at the cut.
  const end = /[\uD800-\uDBFF]/.test(text[MAX_CELL_TEXT - 1]!) ? MAX_CELL_TEXT - 1 : MAX_CELL_TEXT;
  return text.slice(0, end);
}

function rowValues(row: ExportPage['cells'][number], includeMetadata: boolean): (string | number | boolean | null)[] {
  if (!includeMetadata) return row.map((cell) => xlsxValue(cell?.value));
  return row.flatMap((cell) => [xlsxValue(cell?.value), ...metadataFields(cell).map(xlsxValue)]);
}

type Drainable = NodeJS.EventEmitter & { _writableState?: { needDrain?: boolean } };

/**
 * The stream the sheet's XML is piped into on its way to zlib. exceljs's Row.commit() is
 * synchronous and its StreamBuf ignores backpressure, so without waiting on this stream the whole
 * sheet's XML piles up in front of the compressor (~50 MB for 100,000 rows). Found through exceljs
 * 4.4 / archiver 5 internals (a readable-stream 2 PassThrough; versions pinned by the lockfile):
 * if their shape changes this finds nothing and the writer falls back to yielding once per page.
 */
function compressorInput(sheet: Worksheet): Drainable | undefined {
  const pipes = (sheet as unknown as { stream?: { pipes?: unknown[] } }).stream?.pipes;
  const first = (Array.isArray(pipes) ? pipes[0] : undefined) as Drainable | undefined;
  return typeof first?._writableState?.needDrain === 'boolean' ? first : undefined;
}

/** Waits for `stream` to drain, or for `out` to close (a consumer that gave up never drains anything). */
async function drain(stream: Drainable, out: PassThrough): Promise<void> {
  const ac = new AbortController();
  await Promise.race([once(stream, 'drain', { signal: ac.signal }), once(out, 'close', { signal: ac.signal })]).finally(() => ac.abort());
}

/**
 * One worksheet "Data": a frozen header row of column names, then one row per dataset row, each
 * committed as soon as it is added so exceljs keeps no rows in memory. Inline strings (no shared
 * string table) and no styles keep the writer streaming.
 */
export const writeXlsx: ExportWriter = (pages, options) => {
  const out = new PassThrough();
  (async () => {
    // exceljs costs ~30 MB once loaded: only servers that write workbooks pay it.
    const { default: ExcelJS } = await import('exceljs');
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false });
    const sheet = workbook.addWorksheet('Data', { views: [{ state: 'frozen', ySplit: 1 }] });
    sheet.addRow(headerNames(options)).commit();
    const compressor = compressorInput(sheet);
    for await (const page of pages) {
      for (const row of page.cells) {
        sheet.addRow(rowValues(row, options.includeMetadata)).commit();
        if (compressor?._writableState?.needDrain) await drain(compressor, out);
      }
      if (!compressor) await new Promise((resolve) => setImmediate(resolve));
      if (out.destroyed) return;
    }
    sheet.commit();
    await workbook.commit();
  })().catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  return out;
};
