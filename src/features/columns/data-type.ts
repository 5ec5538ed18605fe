import { z } from '@hono/zod-openapi';

/**
 * One value type per column (issue 12): `text`, `number`, `boolean`, `json` (objects and arrays),
 * or `mixed` when a typed source (JSON, XLSX, a JSON body) really mixes types in one column.
 */
export const DataType = z.enum(['text', 'number', 'boolean', 'json', 'mixed']).openapi('DataType');
export type DataType = z.infer<typeof DataType>;

/** Number text in exponent form ("1e5", "2.5E-3"): a number only when a whole column is written so. */
const EXPONENT = /^-?\d+(\.\d+)?[eE][+-]?\d+$/;
const BOOLEAN = /^(true|false)$/i;

/** How the values of a CSV/TSV column must change once its type is known (see retypeValue). */
export type Retype = 'text' | 'number' | 'boolean';

/** A value read from CSV/TSV brought in line with its column's type: numbers back to the text they were read from (canonical number text, so String() gives it back), exponent text to numbers, true/false text to booleans. */
export function retypeValue(value: unknown, to: Retype): unknown {
  if (value === null || value === undefined) return value;
  if (to === 'text') return typeof value === 'string' ? value : JSON.stringify(value);
  if (to === 'number') return typeof value === 'string' ? Number(value) : value;
  return String(value).toLowerCase() === 'true';
}

/**
 * Infers a column's type from its values while they stream in. `textual` sources (CSV, TSV) hold
 * text, already turned into numbers where the text was canonical (tabular-csv.ts cellValue): the
 * column is a number only if every non-empty value was (or every one is in exponent form), a
 * boolean if every one is true/false, else text, and `retype` says how to bring the stored values
 * in line. Typed sources keep their values: one JSON type is that type, several are `mixed`.
 */
export function createTypeTally(textual: boolean) {
  let nonEmpty = 0;
  let numbers = 0;
  let exponents = 0;
  let booleans = 0;
  const kinds = new Set<DataType>();
  return {
    add(value: unknown) {
      if (value === null || value === undefined || value === '') return;
      nonEmpty++;
      if (textual) {
        if (typeof value === 'number') numbers++;
        else if (typeof value === 'string' && EXPONENT.test(value)) exponents++;
        else if (typeof value === 'string' && BOOLEAN.test(value)) booleans++;
      } else kinds.add(kindOf(value));
    },
    /**
     * For a one-pass CSV/TSV import: how to write the column's values, guessed from the values seen
     * so far (see `guessHolds`). `text` once any value was text, since such a column stays text
     * whatever follows; undefined (values as read) when no value was seen yet.
     */
    guess(): Retype | undefined {
      if (nonEmpty === 0) return undefined;
      const r = this.result();
      return r.dataType === 'text' ? 'text' : r.retype;
    },
    result(): { dataType: DataType; retype?: Retype } {
      if (!textual) return { dataType: kinds.size === 0 ? 'text' : kinds.size === 1 ? [...kinds][0]! : 'mixed' };
      if (nonEmpty === 0) return { dataType: 'text' };
      if (numbers === nonEmpty) return { dataType: 'number' };
      if (exponents === nonEmpty) return { dataType: 'number', retype: 'number' };
      if (booleans === nonEmpty) return { dataType: 'boolean', retype: 'boolean' };
      return numbers > 0 ? { dataType: 'text', retype: 'text' } : { dataType: 'text' };
    },
  };
}

/**
 * Whether values written with `guess` applied (see the tally's `guess`) are the values the column's
 * type wants: `result` is the tally's result once every value, or only some (then `final` is
 * false), has been added. With `final` false, false means it can no longer hold, whatever follows.
 */
export function guessHolds(guess: Retype | undefined, result: { dataType: DataType; retype?: Retype }, final: boolean): boolean {
  if (guess === 'text') return result.dataType === 'text';
  // Text with numbers stays so; a guessed number or boolean column stays wrong once it is not.
  if (!final && guess === undefined) return result.retype !== 'text';
  return result.retype === guess;
}

function kindOf(value: unknown): DataType {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'object') return 'json';
  return 'text';
}

/** The JSON Schema type of an outputSchema, as a data type. */
function schemaType(schema: unknown): DataType {
  const type = (schema as { type?: unknown } | undefined)?.type;
  if (type === 'string') return 'text';
  if (type === 'number' || type === 'integer') return 'number';
  if (type === 'boolean') return 'boolean';
  return 'json';
}

/**
 * A column's type: the recorded one, else what its task type produces. A raw column with no
 * recorded type was imported before types were inferred (values typed cell by cell): `mixed`.
 */
export function dataTypeOf(column: { taskType: string; metadata: Record<string, unknown>; dataType?: string | null | undefined }): DataType {
  const recorded = DataType.safeParse(column.dataType);
  if (recorded.success) return recorded.data;
  switch (column.taskType) {
    case 'raw':
      return 'mixed';
    case 'places_count':
      return 'number';
    case 'classification':
      return column.metadata.multiLabel === true ? 'json' : 'text';
    case 'ai_enrich':
    case 'doc_extraction':
      return column.metadata.outputSchema ? schemaType(column.metadata.outputSchema) : 'text';
    default:
      return 'text';
  }
}

/** A value converted to `to`, or undefined when it does not convert. Null stays null. */
export function convertValue(value: unknown, to: DataType): { value: unknown } | undefined {
  if (value === null || value === undefined) return { value: null };
  switch (to) {
    case 'mixed':
      return { value };
    case 'text':
      return { value: typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value) };
    case 'number': {
      if (typeof value === 'number') return { value };
      if (typeof value === 'boolean' || typeof value !== 'string' || value.trim() === '') return undefined;
      const n = Number(value.trim());
      return Number.isFinite(n) ? { value: n } : undefined;
    }
    case 'boolean':
      if (typeof value === 'boolean') return { value };
      if (typeof value === 'string' && BOOLEAN.test(value.trim())) return { value: value.trim().toLowerCase() === 'true' };
      if (value === 0 || value === 1) return { value: value === 1 };
      return undefined;
    case 'json': {
      if (typeof value === 'object') return { value };
      if (typeof value !== 'string') return undefined;
      try {
        const parsed = JSON.parse(value) as unknown;
        return typeof parsed === 'object' && parsed !== null ? { value: parsed } : undefined;
      } catch {
        return undefined;
      }
    }
  }
}

/**
 * A value a user writes into a raw column (a cell edit, new rows), in the column's type: "42" into
 * a number column is 42, 42 into a text column is "42". Undefined: it does not convert (the caller
 * refuses it, naming the type). Mixed columns, and columns whose type was never recorded, take
 * any value.
 */
export function valueForColumn(column: { taskType: string; metadata: Record<string, unknown>; dataType?: string | null | undefined }, value: unknown): { value: unknown } | undefined {
  if (column.taskType !== 'raw') return { value };
  const type = dataTypeOf(column);
  return type === 'mixed' ? { value } : convertValue(value, type);
}
