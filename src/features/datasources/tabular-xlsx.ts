import { createReadStream } from 'node:fs';
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

/** Non-empty rows of the first worksheet, as plain values (0-based). */
async function* sheetRows(path: string): AsyncGenerator<SheetRow> {
  // Our own stream, so that stopping after the first sheet (or the header) closes the file:
  // exceljs leaves the stream it opens itself paused and open when iteration stops early.
  const input = createReadStream(path);
  // Styles are needed to tell a date from a number; hyperlinks are read from the cell text alone.
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, { worksheets: 'emit', sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', entries: 'ignore' });
  try {
    for await (const sheet of reader) {
      for await (const row of sheet) {
        const raw = row.values as unknown[];
        const values: unknown[] = [];
        // exceljs rows are 1-based and sparse.
        for (let i = 1; i < raw.length; i++) values.push(plainValue(raw[i]));
        if (lastFilled(values) >= 0) yield { number: row.number, values };
      }
      return;
    }
  } catch (err) {
    if (isSystemError(err)) throw err;
    throw fileError(`the spreadsheet could not be read: ${(err as Error).message}`);
  } finally {
    input.destroy();
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
