import { type Issue } from '../http/errors.ts';
import { COLUMN_REF_FIELDS, TEMPLATE_FIELDS, type ColumnMetadata } from '../features/columns/task-types.ts';
import { renderTemplate, templateReferences } from './template.ts';

export type ColumnNode = { columnId: string; name: string; metadata: ColumnMetadata; dependsOn: string[] };

/**
 * The columns a column's metadata reads in its row: references in its templates and the columns it
 * names by id. References resolve by column id first, then by name. Unknown references come back
 * as issues, so saving a column that reads a missing column is INVALID_PARAMETERS.
 */
export function resolveDependencies(metadata: ColumnMetadata, columns: readonly { columnId: string; name: string }[]): { dependsOn: string[]; issues: Issue[] } {
  const byId = new Map(columns.map((c) => [c.columnId, c.columnId]));
  const byName = new Map(columns.map((c) => [c.name, c.columnId]));
  const found = new Set<string>();
  const issues: Issue[] = [];
  const resolve = (ref: string, path: string) => {
    const id = byId.get(ref) ?? byName.get(ref);
    if (id) found.add(id);
    else issues.push({ path, message: `references unknown column "${ref}"` });
  };
  for (const field of TEMPLATE_FIELDS) {
    const text = metadata[field];
    if (typeof text === 'string') for (const ref of templateReferences(text)) resolve(ref, `metadata.${field}`);
  }
  for (const field of COLUMN_REF_FIELDS) {
    const ref = metadata[field];
    if (typeof ref === 'string') resolve(ref, `metadata.${field}`);
  }
  return { dependsOn: [...found], issues };
}

/** A dependency cycle as the list of column ids along it, or null. */
export function findCycle(nodes: readonly ColumnNode[]): string[] | null {
  const deps = new Map(nodes.map((n) => [n.columnId, n.dependsOn]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | null => {
    const s = state.get(id);
    if (s === 'done') return null;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };
  for (const n of nodes) {
    const cycle = visit(n.columnId);
    if (cycle) return cycle;
  }
  return null;
}

/** Every column that reads `columnIds`, directly or through other columns. */
export function transitiveDependents(nodes: readonly ColumnNode[], columnIds: readonly string[]): string[] {
  const readers = new Map<string, string[]>();
  for (const n of nodes) for (const d of n.dependsOn) readers.set(d, [...(readers.get(d) ?? []), n.columnId]);
  const out = new Set<string>();
  const queue = [...columnIds];
  while (queue.length) {
    for (const r of readers.get(queue.pop()!) ?? []) {
      if (!out.has(r)) {
        out.add(r);
        queue.push(r);
      }
    }
  }
  return [...out];
}

/** After a rename, templates that referenced the old name follow it, so prompts keep working. */
export function renameInTemplates(metadata: ColumnMetadata, oldName: string, newName: string): ColumnMetadata | null {
  let changed = false;
  const out: ColumnMetadata = { ...metadata };
  for (const field of TEMPLATE_FIELDS) {
    const text = metadata[field];
    if (typeof text !== 'string') continue;
    const next = renderTemplate(text, (ref) => (ref === oldName ? `{{${newName}}}` : undefined));
    if (next !== text) {
      out[field] = next;
      changed = true;
    }
  }
  return changed ? out : null;
}

/** A column's stage: the longest chain of columns it reads among the targeted ones (0 = reads none). */
export function stages(columns: readonly { id: string; dependsOn: readonly string[] }[]): Map<string, number> {
  const targeted = new Map(columns.map((c) => [c.id, c]));
  const memo = new Map<string, number>();
  const depth = (id: string, seen: Set<string>): number => {
    if (memo.has(id)) return memo.get(id)!;
    if (seen.has(id)) return 0; // cycles are refused when columns are saved; never loop here
    seen.add(id);
    const deps = targeted.get(id)!.dependsOn.filter((d) => targeted.has(d) && d !== id);
    const d = deps.length ? 1 + Math.max(...deps.map((x) => depth(x, seen))) : 0;
    memo.set(id, d);
    return d;
  };
  for (const c of columns) depth(c.id, new Set());
  return memo;
}

/** Task types whose prompt can be sent with the row as context (see readsRow). */
const ROW_CONTEXT_FIELD: Record<string, string> = { ai_enrich: 'prompt', classification: 'prompt', web_enrich: 'prompt' };

/**
 * Whether a column's requests carry its row (SPEC section 4): `includeRow: true`, or a prompt that
 * references no column (ai_enrich, classification, web_enrich; classification and web_enrich
 * without a prompt too). doc_extraction reads its document, so the row only with `includeRow`.
 */
export function readsRow(column: { taskType: string; metadata: ColumnMetadata }): boolean {
  if (column.metadata.includeRow === true) return true;
  const field = ROW_CONTEXT_FIELD[column.taskType];
  if (!field) return false;
  const text = column.metadata[field];
  return typeof text !== 'string' || templateReferences(text).length === 0;
}

type DependencyColumn = { id: string; taskType: string; metadata: ColumnMetadata; dependsOn: readonly string[] };

/**
 * Each column's dependencies with the whole-row reads added: a row-reading column reads every other
 * column of the row except those that read it (directly or through others), so there is never a
 * cycle. Of two row-reading columns, the later one (by position) reads the earlier. `columns` come
 * in position order.
 */
export function effectiveDependencies(columns: readonly DependencyColumn[]): Map<string, string[]> {
  const deps = new Map(columns.map((c) => [c.id, [...c.dependsOn]]));
  const reaches = (from: string, target: string): boolean => {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length) {
      const id = stack.pop()!;
      if (id === target) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(deps.get(id) ?? []));
    }
    return false;
  };
  const readers = columns.filter(readsRow);
  readers.forEach((r, i) => {
    const later = new Set(readers.slice(i + 1).map((l) => l.id));
    const own = deps.get(r.id)!;
    for (const c of columns) {
      if (c.id === r.id || later.has(c.id) || own.includes(c.id) || reaches(c.id, r.id)) continue;
      own.push(c.id);
    }
  });
  return deps;
}

/** The columns with `dependsOn` replaced by their effective dependencies (whole-row reads included). */
export function withRowDependencies<T extends DependencyColumn>(columns: readonly T[]): T[] {
  const deps = effectiveDependencies(columns);
  return columns.map((c) => ({ ...c, dependsOn: deps.get(c.id)! }));
}
