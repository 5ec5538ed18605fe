import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { columnNames, fileError, isSystemError, tabular, type Tabular } from './tabular-common.ts';

type SheetRow = { number: number; values: unknown[] };

/** The first worksheet of a workbook; its first non-empty row is the header. */
export async function openXlsx(path: string, maxColumns: number): Promise<Tabular> {
  let header: unknown[] = [];
  for await (const row of sheetRows(path)) {
    header = row.values;
    break;
  }
  const width = lastFilled(header) + 1;
  const columns = columnNames(
    header.slice(0, width).map((v) => (v === null ? '' : String(v).trim())),
    maxColumns,
  );
  return tabular(columns, () => rows(path, columns.length));
}

async function* rows(path: string, width: number): AsyncGenerator<unknown[]> {
  let seenHeader = false;
  for await (const { number, values } of sheetRows(path)) {
    if (!seenHeader) {
      seenHeader = true;
      continue;
    }
    const last = lastFilled(values);
    if (last >= width) {
      throw fileError(`row ${number} has a value in column ${columnLetter(last + 1)}, beyond the ${width} header columns`, { row: number, column: columnLetter(last + 1) });
    }
    const row = new Array<unknown>(width).fill(null);
    for (let i = 0; i <= last; i++) row[i] = values[i];
    yield row;
  }
}

/**
 * exceljs now and then finds the temp file it spooled a sheet to gone when it opens it again
 * (ENOENT on its own tmp-<pid>-* file; seen about once in three full test runs, never alone, cause
 * not found). That happens before the sheet's first row, so the read is simply started again.
 */
const SPOOL_ATTEMPTS = 3;
const spoolVanished = (err: unknown) => isSystemError(err) && (err as NodeJS.ErrnoException).code === 'ENOENT' && /[\\/]tmp-\d+-[^\\/]+$/.test(String((err as NodeJS.ErrnoException).path ?? ''));

/** Non-empty rows of the first worksheet, as plain values (0-based). */
async function* sheetRows(path: string): AsyncGenerator<SheetRow> {
  for (let attempt = 1; ; attempt++) {
    let yielded = false;
    try {
      for await (const row of sheetRowsOnce(path)) {
        yielded = true;
        yield row;
      }
      return;
    } catch (err) {
      if (yielded || attempt >= SPOOL_ATTEMPTS || !spoolVanished(err)) throw err;
    }
  }
}

async function* sheetRowsOnce(path: string): AsyncGenerator<SheetRow> {
  // Our own stream, so that stopping early closes the file (exceljs leaves a stream it opened
  // itself paused and open), and so that a missing file is a rejection here: exceljs listens for
  // no error on its input, so a failing read would surface as an uncaught exception.
  const input = (await open(path)).createReadStream();
  let readError: unknown;
  input.on('error', (err) => (readError = err));
  // Styles are needed to tell a date from a number; hyperlinks are read from the cell text alone.
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, { worksheets: 'emit', sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', entries: 'ignore' });
  const sheets = reader[Symbol.asyncIterator]();
  try {
    const first = await sheets.next();
    if (first.done) return;
    for await (const row of first.value) {
      const raw = row.values as unknown[];
      const values: unknown[] = [];
      // exceljs rows are 1-based and sparse.
      for (let i = 1; i < raw.length; i++) values.push(plainValue(raw[i]));
      if (lastFilled(values) >= 0) yield { number: row.number, values };
    }
  } catch (err) {
    if (readError) throw readError;
    if (isSystemError(err)) throw err;
    throw fileError(`the spreadsheet could not be read: ${(err as Error).message}`);
  } finally {
    await releaseSheets(sheets);
    input.destroy();
  }
}

/**
 * Sheets stored before the shared strings (as Excel and exceljs both write them) are spooled by
 * exceljs to temp files, and each file is deleted, and its descriptor closed, only when the
 * iteration moves past that sheet. Stopping after the first sheet, or after a page of rows, would
 * leak both; so the remaining sheets are stepped over unread, closing the source exceljs opened
 * for each (an undocumented `iterator` property; if it disappears, only that close is skipped).
 */
async function releaseSheets(sheets: AsyncIterator<unknown>): Promise<void> {
  try {
    for (let next = await sheets.next(); !next.done; next = await sheets.next()) {
      const source = (next.value as { iterator?: unknown }).iterator;
      if (source instanceof Readable) source.destroy();
    }
  } catch {
    // The rows wanted were already read or their failure already reported; the rest of the archive does not matter.
  }
}

function lastFilled(values: readonly unknown[]): number {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return i;
  return -1;
}

/**
 * Cells become what a user sees: a formula its cached result, rich text and hyperlinks their
 * text, a date an ISO 8601 string. Error values (#N/A, #DIV/0!) carry no data, so they are null.
 */
export function plainValue(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v.richText)) return (v.richText as { text?: unknown }[]).map((part) => String(part.text ?? '')).join('') || null;
    if ('formula' in v || 'sharedFormula' in v) return plainValue(v.result);
    if ('error' in v) return null;
    if ('text' in v) return plainValue(v.text);
  }
  return null;
}

function columnLetter(n: number): string {
  let name = '';
  for (let rest = n; rest > 0; rest = Math.floor((rest - 1) / 26)) name = String.fromCharCode(65 + ((rest - 1) % 26)) + name;
  return name;
}
