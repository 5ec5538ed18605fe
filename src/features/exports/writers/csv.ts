import { Readable } from 'node:stream';
import { headerNames, metadataFields, type ExportPage, type ExportWriter, type WriteOptions } from './common.ts';

// RFC 4180: a field is quoted only when it holds a quote, comma, CR or LF, its quotes doubled.
const NEEDS_QUOTES = /[",\r\n]/;
const QUOTES = /"/g;

/**
 * One CSV field as RFC 4180 writes it: the rule csv-stringify applies with `record_delimiter:
 * 'windows'` (csv.test.ts checks the two agree on random text). Done here because csv-stringify's
 * per-field option handling was most of an export's time: 0.49 s of 0.92 s for 100,000 rows x 10
 * columns, against 0.13 s for this.
 */
export const csvField = (text: string) => (NEEDS_QUOTES.test(text) ? `"${text.replace(QUOTES, '""')}"` : text);

/** Records as CSV lines, each ended by CRLF. */
export function csvLines(records: readonly (readonly string[])[]): string {
  let out = '';
  for (const fields of records) {
    for (let i = 0; i < fields.length; i++) out += i ? `,${csvField(fields[i]!)}` : csvField(fields[i]!);
    out += '\r\n';
  }
  return out;
}

// A spreadsheet treats these leading characters as the start of a formula (OWASP "CSV injection").
const FORMULA_START = /^[=+\-@\t\r]/;
// ...but a plain number written as text ("-5", "+1.5e3") cannot run anything, so it is left alone.
const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A cell as CSV text: strings guarded against formula injection, null empty, objects and arrays as JSON. */
export function csvText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return FORMULA_START.test(value) && !NUMERIC.test(value) ? `'${value}` : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** CSV text of one value, quoted as a field. */
const valueField = (value: unknown) => csvField(csvText(value));

/** A page's CSV lines (each ended by CRLF): what writeCsv writes for it, here or on a format thread (format-pool.ts). */
export function pageLines(page: ExportPage, includeMetadata: boolean): string {
  if (includeMetadata) return csvLines(records(page));
  // The common case, with no array per row: the page's lines straight from its values.
  let out = '';
  for (const row of page.cells) {
    for (let k = 0; k < row.length; k++) out += k ? `,${valueField(row[k]?.value)}` : valueField(row[k]?.value);
    out += '\r\n';
  }
  return out;
}

function records(page: ExportPage): string[][] {
  return page.cells.map((row) =>
    row.flatMap((cell) => {
      const [status, confidence, sources] = metadataFields(cell);
      return [csvText(cell?.value), status, confidence === null ? '' : String(confidence), sources ?? ''];
    }),
  );
}

/** The file's start: the byte-order mark and the header line. */
export const csvHead = (options: WriteOptions) => `\uFEFF${csvLines([headerNames(options).map(csvText)])}`;

/**
 * CSV, UTF-8 with a byte-order mark so Excel reads non-ASCII text correctly (csv-parse and most
 * tools skip it; `bom: true` in csv-parse). Booleans are written true and false.
 */
export const writeCsv: ExportWriter = (pages, options: WriteOptions) =>
  Readable.from(
    (async function* () {
      yield Buffer.from(csvHead(options));
      for await (const page of pages) if (page.rowIds.length) yield Buffer.from(pageLines(page, options.includeMetadata));
    })(),
  );
