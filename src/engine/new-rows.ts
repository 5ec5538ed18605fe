import type { ColumnRecord } from '../store/columns.ts';
import { CellError, type LlmClient } from './executor.ts';

/**
 * Row generation for `new-rows` tasks on analysis datasets: the LLM is shown the dataset's raw
 * columns and a few existing rows and asked for more rows of the same kind, in batches. Each batch
 * is one durable task item (see store/tasks.ts GENERATE_COLUMN): a crashed worker's batch is
 * generated again by another, and the batch's rows, their cells and their computed items are
 * written in the transaction that finishes it, so a batch's rows appear once or not at all.
 */

/** Rows asked for per LLM call: big enough to amortise the prompt, small enough to stay well inside output limits. */
export const ROWS_PER_BATCH = 25;
/** Existing rows shown as examples. */
export const EXAMPLE_ROWS = 8;
/** Times a batch asks again for the rows the model left out (then the task reports the shortfall). */
export const SHORTFALL_ROUNDS = 3;

export type GenerationInput = {
  taskId: string;
  batch: number;
  batches: number;
  count: number;
  /** The raw columns, in position order: the generated rows' fields. */
  columns: readonly ColumnRecord[];
  /** Existing rows' raw values keyed by column name. */
  examples: readonly Record<string, unknown>[];
  datasetName: string;
  description?: string | null;
  modelId: string;
  /** Asking again for a shortfall: 1, 2 ... (0 or absent: the batch's first request). */
  round?: number;
  /** Rows this batch already wrote (in `columns` order): shown to the model and never kept again. */
  written?: readonly unknown[][];
};

type JsonType = 'string' | 'number' | 'integer' | 'boolean';

/** A field's JSON type from the examples: the one type every non-null example has, else string. */
function fieldType(values: unknown[]): JsonType {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length && present.every((v) => typeof v === 'boolean')) return 'boolean';
  if (present.length && present.every((v) => Number.isInteger(v))) return 'integer';
  if (present.length && present.every((v) => typeof v === 'number')) return 'number';
  return 'string';
}

export function generationSchema(columns: readonly ColumnRecord[], examples: readonly Record<string, unknown>[], count: number): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const c of columns) properties[c.name] = { type: [fieldType(examples.map((e) => e[c.name])), 'null'] };
  return {
    type: 'object',
    properties: { rows: { type: 'array', minItems: 1, maxItems: count, items: { type: 'object', properties, required: columns.map((c) => c.name), additionalProperties: false } } },
    required: ['rows'],
    additionalProperties: false,
  };
}

/**
 * One batch of new rows, as values in `columns` order. Rows that repeat an example or an earlier row
 * of the batch are dropped, and a batch that
 * yields no usable row is a failure of the batch (GENERATION_EMPTY), not an empty success.
 */
export async function generateRows(llm: LlmClient, input: GenerationInput): Promise<unknown[][]> {
  const { columns, examples, count } = input;
  const answer = await llm.complete(input.modelId, {
    messages: [
      {
        role: 'system',
        content:
          'You add rows to a spreadsheet. Each new row must be a plausible, real-looking entry of the same kind as the examples, ' +
          'different from the examples and from every other row you write, with every field filled the way the examples fill it ' +
          '(null only where the examples leave such a field empty). Answer with JSON matching the given schema.',
      },
      {
        role: 'user',
        content: [
          `Table: ${input.datasetName}${input.description ? ` (${input.description})` : ''}`,
          `Columns: ${columns.map((c) => JSON.stringify(c.name)).join(', ')}`,
          examples.length ? `Example rows:\n${examples.map((e) => JSON.stringify(e)).join('\n')}` : 'The table has no rows yet: infer the kind of entry from the table and column names.',
          ...(input.written?.length ? [`Rows already written (do not repeat them):\n${input.written.map((w) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c.name, w[i] ?? null])))).join('\n')}`] : []),
          `Write ${count} new rows.`,
          // Part of the request so that each batch (and each task) is its own cache entry, while a
          // retried batch of the same task is answered from the cache instead of paid twice.
          `Batch ${input.batch + 1} of ${input.batches} of request ${input.taskId}${input.round ? `, round ${input.round + 1}` : ''}.`,
        ].join('\n\n'),
      },
    ],
    jsonSchema: { name: 'new_rows', schema: generationSchema(columns, examples, count) },
    temperature: 1,
  });
  const rows = (answer.json as { rows?: unknown } | undefined)?.rows;
  if (!Array.isArray(rows)) throw new CellError('GENERATION_EMPTY', 'The model answered without rows', true);
  const seen = new Set([...examples.map((e) => JSON.stringify(columns.map((c) => e[c.name] ?? null))), ...(input.written ?? []).map((w) => JSON.stringify(w))]);
  const out: unknown[][] = [];
  for (const r of rows) {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) continue;
    // The provider validated the answer against the schema, so the types are right; "" counts as empty.
    const values = columns.map((c) => (r as Record<string, unknown>)[c.name] ?? null).map((v) => (v === '' ? null : v));
    if (values.every((v) => v === null)) continue;
    const key = JSON.stringify(values);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(values);
    if (out.length === count) break;
  }
  if (!out.length) throw new CellError('GENERATION_EMPTY', 'The model wrote no new row (every row was empty or repeated an existing one)', true);
  return out;
}
