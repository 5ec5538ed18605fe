import { InvalidParametersError, type Issue } from '../../http/errors.ts';
import { findCycle, resolveDependencies, type ColumnNode } from '../../engine/dependencies.ts';
import { COLUMN_REF_FIELDS, assertTaskTypeAllowed, validateMetadata, type ColumnMetadata, type DatasetType, type TaskType } from './task-types.ts';

const join = (...parts: string[]) => parts.filter(Boolean).join('.');

export type ColumnDraft = { columnId: string; name: string; taskType: string; metadata: unknown };
export type CheckedColumn = { columnId: string; name: string; taskType: TaskType; metadata: ColumnMetadata; dependsOn: string[] };

/** Names are trimmed, 1-200 characters, and cannot contain template braces. */
export function checkColumnName(name: string, path: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 200) throw new InvalidParametersError([{ path, message: 'column name must be 1 to 200 characters' }]);
  if (/[{}]{2}/.test(trimmed)) throw new InvalidParametersError([{ path, message: 'column name cannot contain "{{" or "}}"' }]);
  return trimmed;
}

/**
 * Checks a set of columns as they would stand after a change: task type allowed for the dataset
 * type, metadata valid for the task type, references resolvable, names unique, no cycle. Column
 * references given by name are stored as ids, so renames cannot break them.
 */
export function checkColumns(all: readonly ColumnDraft[], datasetType: DatasetType, changedIds: ReadonlySet<string>, pathOf: (columnId: string) => string): CheckedColumn[] {
  const issues: Issue[] = [];
  const seen = new Map<string, string>();
  for (const c of all) {
    const prior = seen.get(c.name);
    if (prior !== undefined && (changedIds.has(c.columnId) || changedIds.has(prior))) issues.push({ path: join(pathOf(c.columnId), 'name'), message: `duplicate column name "${c.name}"` });
    seen.set(c.name, c.columnId);
  }
  if (issues.length) throw new InvalidParametersError(issues);

  const checked = all.map((c): CheckedColumn => {
    if (!changedIds.has(c.columnId)) return { ...c, taskType: c.taskType as TaskType, metadata: c.metadata as ColumnMetadata, dependsOn: [] };
    assertTaskTypeAllowed(c.taskType, datasetType);
    const metadata = validateMetadata(c.taskType, c.metadata, join(pathOf(c.columnId), 'metadata'));
    return { columnId: c.columnId, name: c.name, taskType: c.taskType, metadata, dependsOn: [] };
  });
  const refs = all.map((c) => ({ columnId: c.columnId, name: c.name }));
  for (const c of checked) {
    const { dependsOn, issues: refIssues } = resolveDependencies(c.metadata, refs);
    c.dependsOn = dependsOn;
    if (!changedIds.has(c.columnId)) continue;
    issues.push(...refIssues.map((i) => ({ ...i, path: join(pathOf(c.columnId), i.path) })));
    for (const field of COLUMN_REF_FIELDS) {
      const ref = c.metadata[field];
      const target = typeof ref === 'string' ? refs.find((r) => r.columnId === ref) ?? refs.find((r) => r.name === ref) : undefined;
      if (target) c.metadata = { ...c.metadata, [field]: target.columnId };
    }
  }
  if (issues.length) throw new InvalidParametersError(issues);
  const cycle = findCycle(checked.map((c): ColumnNode => c));
  if (cycle) {
    const names = cycle.map((id) => checked.find((c) => c.columnId === id)?.name ?? id);
    throw new InvalidParametersError([{ path: join(pathOf(cycle[0]!), 'metadata'), message: `columns reference each other in a cycle: ${names.join(' -> ')}` }], { cycle });
  }
  return checked;
}
