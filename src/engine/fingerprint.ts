import { createHash } from 'node:crypto';
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
  // References count by column id, so renaming a column does not change what its readers ask.
  const idOf = new Map(columns.flatMap((c) => [[c.id, c.id] as const, [c.name, c.id] as const]));
  const settings = Object.entries(column.metadata)
    .filter(([k]) => !NOT_REQUESTED.has(k))
    .map(([k, v]) => [k, TEMPLATES.has(k) && typeof v === 'string' ? renderTemplate(v, (ref) => `{{${idOf.get(ref) ?? ref}}}`) : v] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256').update(JSON.stringify([column.taskType, settings, inputs])).digest('hex').slice(0, 32);
}
