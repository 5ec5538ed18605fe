import { Readable } from 'node:stream';
import { stringify, type Options } from 'csv-stringify/sync';
import { headerNames, metadataFields, type ExportPage, type ExportWriter, type WriteOptions } from './common.ts';

// RFC 4180: CRLF line ends, fields quoted only when they hold a quote, comma, CR or LF.
const OPTIONS: Options = { record_delimiter: 'windows' };

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

function records(page: ExportPage, includeMetadata: boolean): string[][] {
  if (!includeMetadata) return page.cells.map((row) => row.map((cell) => csvText(cell?.value)));
  return page.cells.map((row) =>
    row.flatMap((cell) => {
      const [status, confidence, sources] = metadataFields(cell);
      return [csvText(cell?.value), status, confidence === null ? '' : String(confidence), sources ?? ''];
    }),
  );
}

/**
 * CSV, UTF-8 with a byte-order mark so Excel reads non-ASCII text correctly (csv-parse and most
 * tools skip it; `bom: true` in csv-parse). Every field is formatted here, so csv-stringify only
 * quotes: its own casts would write booleans as "1" and "".
 */
export const writeCsv: ExportWriter = (pages, options: WriteOptions) =>
  Readable.from(
    (async function* () {
      yield Buffer.from(stringify([headerNames(options).map(csvText)], { ...OPTIONS, bom: true }));
      for await (const page of pages) if (page.rowIds.length) yield Buffer.from(stringify(records(page, options.includeMetadata), OPTIONS));
    })(),
  );
