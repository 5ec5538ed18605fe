import crypto from 'node:crypto';
import { renderTemplate } from './template.ts';

const TEMPLATES = new Set(['prompt', 'extractionPrompt', 'query']);

/** Metadata keys that do not change what is asked (a review threshold, a note for people). */
const NOT_REQUESTED = new Set(['confidence', 'description']);

/**
 * The fingerprint of a computed cell's effective request: task type, the column's settings that
 * shape the request (prompt and other templates, model, schema, categories, parameters ...) and the
 * values of the cells it reads. A computed cell records it; the cell is stale exactly when the
 * fingerprint computed now differs, so restoring a column's settings makes its cells done again.
 * The default model (CELLWISE_MODEL) is not part of it: a column that names no model keeps its
 * cells when the server's default changes.
 */
export function requestFingerprint(column: { taskType: string; metadata: Record<string, unknown> }, inputs: readonly unknown[], columns: readonly { id: string; name: string }[]): string {
  // The column's part is the same for every cell: built once per column (and list of columns), so
  // a run over many rows pays one JSON.stringify of the inputs and one hash per cell. The text is
  // byte for byte what JSON.stringify([taskType, settings, inputs]) gave, so recorded fingerprints
  // stay valid.
  let memo = prefixes.get(column);
  if (!memo || memo.metadata !== column.metadata || memo.columns !== columns) {
    memo = { metadata: column.metadata, columns, prefix: settingsPrefix(column, columns) };
    prefixes.set(column, memo);
  }
  return sha256Hex(`${memo.prefix}${JSON.stringify(inputs)}]`).slice(0, 32);
}

/** crypto.hash (one-shot: several times cheaper than createHash for short texts) is in Node 20.12+; package.json allows 20.9. */
const sha256Hex: (text: string) => string = typeof crypto.hash === 'function' ? (text) => crypto.hash('sha256', text, 'hex') : (text) => crypto.createHash('sha256').update(text).digest('hex');

/** By column record: records are not changed in place (an update reads a new one), and the metadata object is compared too. */
const prefixes = new WeakMap<object, { metadata: Record<string, unknown>; columns: readonly unknown[]; prefix: string }>();

/** `[taskType,settings,` : the opening of the fingerprinted JSON array, up to the inputs. */
function settingsPrefix(column: { taskType: string; metadata: Record<string, unknown> }, columns: readonly { id: string; name: string }[]): string {
  // References count by column id, so renaming a column does not change what its readers ask.
  const idOf = new Map(columns.flatMap((c) => [[c.id, c.id] as const, [c.name, c.id] as const]));
  const settings = Object.entries(column.metadata)
    .filter(([k]) => !NOT_REQUESTED.has(k))
    .map(([k, v]) => [k, TEMPLATES.has(k) && typeof v === 'string' ? renderTemplate(v, (ref) => `{{${idOf.get(ref) ?? ref}}}`) : v] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const whole = JSON.stringify([column.taskType, settings, null]);
  return whole.slice(0, whole.length - 'null]'.length);
}
