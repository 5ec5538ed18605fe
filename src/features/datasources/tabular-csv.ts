import { pipeline, Readable, Transform } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { columnNames, DEFAULT_BATCH_SIZE, fileError, MAX_RECORD_CHARS, type Tabular } from './tabular-common.ts';
import { readText } from './tabular-text.ts';

/** CSV or TSV (RFC 4180 quoting either way); the first non-blank record is the header. */
export async function openDelimited(path: string, delimiter: ',' | '\t', maxColumns: number): Promise<Tabular> {
  let header: string[] | undefined;
  for await (const record of records(path, delimiter, false)) {
    if (isBlank(record)) continue;
    header = record;
    break;
  }
  const columns = columnNames((header ?? []).map((name) => name.trim()), maxColumns);
  return { columns, batches: (batchSize = DEFAULT_BATCH_SIZE) => rowBatches(path, delimiter, columns.length, batchSize) };
}

/**
 * Rows in batches of `size`, shaped and typed as the parser emits each record, in a Transform: the
 * consumer awaits once per batch, not once per row (a promise per row and generator layer was a
 * tenth of an import's time).
 */
async function* rowBatches(path: string, delimiter: string, width: number, size: number): AsyncGenerator<unknown[][]> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  let seenHeader = false;
  let index = -1;
  let batch: unknown[][] = [];
  const shape = new Transform({
    objectMode: true,
    // One finished batch waits for the consumer at most: memory stays a batch or two of rows.
    readableHighWaterMark: 1,
    transform(record: string[], _encoding, done) {
      index++;
      if (isBlank(record)) return done();
      if (!seenHeader) {
        seenHeader = true;
        return done();
      }
      if (record.length > width) {
        const at = index;
        lineOf(path, delimiter, at).then((line) => done(fileError(`line ${line} has ${record.length} fields, the header has ${width}`, { line, fieldCount: record.length, columnCount: width })), done);
        return;
      }
      // The parser hands over a new array per record: it becomes the row, short rows padded with null.
      const row: unknown[] = record;
      for (let i = 0; i < record.length; i++) row[i] = cellValue(record[i]!);
      for (let i = record.length; i < width; i++) row.push(null);
      batch.push(row);
      if (batch.length >= size) {
        this.push(batch);
        batch = [];
      }
      done();
    },
    flush(done) {
      if (batch.length) this.push(batch);
      done();
    },
  });
  yield* records(path, delimiter, false, shape) as AsyncGenerator<unknown[][]>;
}

/**
 * Records as arrays of strings. Line numbers (`info`) slow csv-parse by a third, so they are only
 * asked for when re-reading to place an error.
 */
function records(path: string, delimiter: string, info: false, then?: Transform): AsyncGenerator<string[]>;
function records(path: string, delimiter: string, info: true): AsyncGenerator<{ record: string[]; info: { lines: number } }>;
async function* records(path: string, delimiter: string, info: boolean, then?: Transform): AsyncGenerator<unknown> {
  // Column counts are checked by the caller, which can name the header width. Line endings are
  // listed because csv-parse otherwise guesses one from the first line, and files edited on two
  // systems mix them.
  const parser = parse({ delimiter, record_delimiter: ['\r\n', '\n', '\r'], info, relax_column_count: true, skip_empty_lines: true, max_record_size: MAX_RECORD_CHARS });
  try {
    yield* then ? pipeline(Readable.from(readText(path)), parser, then, () => {}) : pipeline(Readable.from(readText(path)), parser, () => {});
  } catch (err) {
    if (err instanceof CsvError) {
      const line = typeof err.lines === 'number' ? err.lines : undefined;
      throw fileError(`${line ? `line ${line}: ` : ''}${err.message}`, line ? { line } : {});
    }
    throw err;
  }
}

/** The line on which record `index` (0-based, blank-looking records included) starts. */
async function lineOf(path: string, delimiter: string, index: number): Promise<number> {
  let i = 0;
  for await (const { record, info } of records(path, delimiter, true)) {
    if (i++ === index) return startLine(record, info.lines);
  }
  return 0;
}

/**
 * csv-parse reports the line a record ends on; a quoted field spanning lines would push that
 * past the line the user sees the record start on. csv-parse counts CR and LF inside quotes
 * separately, so both are subtracted.
 */
function startLine(record: readonly string[], endLine: number): number {
  let breaks = 0;
  for (const field of record) {
    for (let i = 0; i < field.length; i++) {
      const c = field.charCodeAt(i);
      if (c === 10 || c === 13) breaks++;
    }
  }
  return Math.max(1, endLine - breaks);
}

/** A line of only spaces is a stray edit, not a row of data. */
function isBlank(record: readonly string[]): boolean {
  return record.length === 1 && record[0]!.trim() === '';
}

/**
 * Only canonical number text becomes a number: "007", "1e5" or " 4" stay strings so that codes,
 * zip codes and ids round-trip exactly as uploaded.
 */
export function cellValue(text: string): unknown {
  if (text === '') return null;
  const first = text.charCodeAt(0);
  if (first !== 45 && (first < 48 || first > 57)) return text; // neither '-' nor a digit
  const n = Number(text);
  return Number.isFinite(n) && String(n) === text ? n : text;
}
