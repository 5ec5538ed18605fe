import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import unzipper from 'unzipper';
import { InvalidParametersError } from '../../http/errors.ts';
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
 * The parts of exceljs's streaming WorkbookReader used here. Its own `parse()` walks the archive in
 * one streaming pass (unzipper's Parse), and that pass now and then loses the last entry: exceljs
 * writes `xl/workbook.xml` last, so a sheet is parsed with no workbook model and fails with
 * "Cannot read properties of undefined (reading 'sheets')" (exceljs issue 3064; here about one read
 * in 200 under load). It also spools every sheet stored before the shared strings to a temp file,
 * which leaked now and then and vanished now and then. So the archive is opened through its
 * central directory instead (the file is on local disk), the parts are read in the order they are
 * needed, and exceljs's own parsers turn each part into a model and rows. These are exceljs 4.4's
 * internal methods, pinned with it; the tests read real workbooks through them.
 */
type Part = NodeJS.ReadableStream;
interface ReaderParts {
  workbookRels?: { Id: string; Type?: string; Target: string }[];
  model?: { sheets?: { rId: string }[] };
  _parseRels(part: Part): Promise<void>;
  _parseWorkbook(part: Part): Promise<void>;
  _parseSharedStrings(part: Part): AsyncGenerator<unknown>;
  _parseStyles(part: Part): Promise<void>;
  _parseWorksheet(part: Part, sheetNo: string): Generator<{ eventType: string; value: AsyncIterable<ExcelJS.Row> }>;
}

/** Non-empty rows of the workbook's first worksheet (in tab order), as plain values (0-based). */
async function* sheetRows(path: string): AsyncGenerator<SheetRow> {
  // Every read of the archive, so that stopping early (a page of rows, a refused row) closes them
  // all: unzipper reads a part from its offset on to the end of the file, and a stream left paused
  // would keep its descriptor open.
  const opened: Readable[] = [];
  const track = <T extends Readable>(stream: T): T => {
    opened.push(stream);
    return stream;
  };
  try {
    let zip: unzipper.CentralDirectory;
    try {
      zip = await unzipper.Open.custom({
        stream: (offset, length) => track(createReadStream(path, { start: offset, ...(length ? { end: offset + length - 1 } : {}) })),
        size: async () => (await stat(path)).size,
      });
    } catch (err) {
      if (isSystemError(err)) throw err;
      throw fileError(`the spreadsheet could not be read: ${(err as Error).message}`);
    }
    yield* partsRows(path, zip, track);
  } finally {
    for (const stream of opened) {
      // An abandoned part can still report a failure from unzipper's pending header read: it is
      // no longer wanted, and with no listener it would be an uncaught exception.
      stream.on('error', () => {}).destroy();
    }
  }
}

async function* partsRows(path: string, zip: unzipper.CentralDirectory, track: <T extends Readable>(stream: T) => T): AsyncGenerator<SheetRow> {
  const files = new Map(zip.files.filter((f) => f.type === 'File').map((f) => [f.path.replace(/^\/+/, ''), f]));
  const part = (name: string): Part | undefined => {
    const file = files.get(name);
    return file && track(file.stream());
  };
  // Styles are needed to tell a date from a number; hyperlinks are read from the cell text alone.
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, { worksheets: 'emit', sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', entries: 'ignore' }) as unknown as ReaderParts;
  try {
    const rels = part('xl/_rels/workbook.xml.rels');
    if (rels) await reader._parseRels(rels);
    const workbook = part('xl/workbook.xml');
    if (!workbook) throw fileError('the file is not an XLSX workbook: it has no xl/workbook.xml');
    await reader._parseWorkbook(workbook);
    const related = (type: string) => reader.workbookRels?.find((r) => r.Type?.endsWith(`/${type}`))?.Target;
    const sharedStrings = part(partPath(related('sharedStrings') ?? 'sharedStrings.xml'));
    if (sharedStrings) for await (const _ of reader._parseSharedStrings(sharedStrings));
    const styles = part(partPath(related('styles') ?? 'styles.xml'));
    if (styles) await reader._parseStyles(styles);

    const sheetPath = firstSheet(reader, files);
    if (sheetPath === undefined) return;
    const sheetNo = /(\d+)\.xml$/.exec(sheetPath)?.[1] ?? '1';
    for (const { eventType, value } of reader._parseWorksheet(part(sheetPath)!, sheetNo)) {
      if (eventType !== 'worksheet') continue;
      for await (const row of value) {
        const raw = row.values as unknown[];
        const values: unknown[] = [];
        // exceljs rows are 1-based and sparse.
        for (let i = 1; i < raw.length; i++) values.push(plainValue(raw[i]));
        if (lastFilled(values) >= 0) yield { number: row.number, values };
      }
    }
  } catch (err) {
    if (err instanceof InvalidParametersError || isSystemError(err)) throw err;
    throw fileError(`the spreadsheet could not be read: ${(err as Error).message}`);
  }
}

/** A relationship target of xl/workbook.xml as a path in the archive (relative to xl/ unless absolute). */
function partPath(target: string): string {
  return target.startsWith('/') ? posix.normalize(target).slice(1) : posix.join('xl', target);
}

/** The workbook's first sheet in tab order; failing that, the lowest-numbered sheet part; always a part the archive holds. */
function firstSheet(reader: ReaderParts, files: Map<string, unknown>): string | undefined {
  const rId = reader.model?.sheets?.[0]?.rId;
  const target = reader.workbookRels?.find((r) => r.Id === rId)?.Target;
  if (target !== undefined && files.has(partPath(target))) return partPath(target);
  const numbered = [...files.keys()]
    .map((name) => ({ name, n: Number(/^xl\/worksheets\/sheet(\d+)\.xml$/.exec(name)?.[1]) }))
    .filter((s) => Number.isInteger(s.n))
    .sort((a, b) => a.n - b.n);
  return numbered[0]?.name;
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
