import { textProblem } from '../../http/input-rules.ts';
import { InvalidParametersError } from '../../http/errors.ts';

export type TabularFormat = 'csv' | 'tsv' | 'json' | 'jsonl' | 'xlsx';

/**
 * An uploaded table opened for streaming. `columns` are the header names; every row is an array
 * aligned with them. `batches()` re-reads the file on each call, so it can be iterated more than
 * once, and rejects mid-iteration when a later row turns out to be malformed.
 */
export type Tabular = {
  columns: string[];
  /** Known only for formats that already needed a full pass to find their columns (JSON, JSONL). */
  rowCount?: number;
  batches(batchSize?: number): AsyncIterable<unknown[][]>;
};

export const DEFAULT_BATCH_SIZE = 1000;
export const DEFAULT_MAX_COLUMNS = 1000;
/**
 * A record (CSV) or line (JSONL) is held whole while parsed; past this many characters it is
 * a runaway quote or a file in the wrong format, not a row, and is refused before it fills memory.
 */
export const MAX_RECORD_CHARS = 32 * 1024 * 1024;

/** Every problem with an uploaded file is reported against the multipart field `file`. */
export function fileError(message: string, extra: Record<string, unknown> = {}): InvalidParametersError {
  return new InvalidParametersError([{ path: 'file', message }], extra);
}

/**
 * Turns raw header cells into column names: blanks get a positional name so every column stays
 * addressable, and duplicates are refused because columns are looked up by name downstream.
 */
export function columnNames(raw: readonly string[], maxColumns: number): string[] {
  if (!raw.length) throw fileError('the file has no header row, so it has no columns');
  if (raw.length > maxColumns) throw fileError(`the file has ${raw.length} columns; at most ${maxColumns} are allowed`, { columnCount: raw.length, maxColumns });
  raw.forEach((name, i) => {
    const problem = textProblem(name);
    if (problem) throw fileError(`the name of column ${i + 1} ${problem}`, { column: i + 1 });
  });
  const names = raw.map((name, i) => name || `Column ${i + 1}`);
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const name of names) (seen.has(name) ? duplicates : seen).add(name);
  if (duplicates.size) throw fileError(`duplicate column names: ${[...duplicates].map((d) => JSON.stringify(d)).join(', ')}`, { duplicates: [...duplicates] });
  return names;
}

export function tabular(columns: string[], rows: () => AsyncIterable<unknown[]>, rowCount?: number): Tabular {
  return {
    columns,
    ...(rowCount === undefined ? {} : { rowCount }),
    batches: (batchSize = DEFAULT_BATCH_SIZE) => inBatches(rows(), batchSize),
  };
}

async function* inBatches(rows: AsyncIterable<unknown[]>, size: number): AsyncGenerator<unknown[][]> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  let batch: unknown[][] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** fs failures (a vanished blob, a permission problem) are server faults, not the uploader's. */
export function isSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}
