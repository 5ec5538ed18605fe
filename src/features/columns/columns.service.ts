import { InvalidParametersError, NotFoundError } from '../../http/errors.ts';
import { newId } from '../../ids.ts';
import { renameInTemplates, transitiveDependents, withRowDependencies } from '../../engine/dependencies.ts';
import * as columnsDb from '../../store/columns.ts';
import type { ColumnRecord } from '../../store/columns.ts';
import { markStale, resetColumnCells } from '../../store/rows.ts';
import { now, type Db } from '../../store/store.ts';
import type { DatasetAccess } from '../datasets/dataset-access.ts';
import { columnView } from '../datasets/grid.ts';
import type { Auth } from '../keys/keys.service.ts';
import { checkColumnName, checkColumns } from './column-rules.ts';
import { TEMPLATE_FIELDS, mergeMetadata, type DatasetType } from './task-types.ts';

const MAX_COLUMNS = 1000;

const nodes = (columns: readonly ColumnRecord[]) => withRowDependencies(columns).map((c) => ({ columnId: c.id, name: c.name, metadata: c.metadata, dependsOn: c.dependsOn }));

export function createColumnService({ access }: { access: DatasetAccess }) {
  async function load(db: Db, datasetId: string, columnId: string) {
    const columns = await columnsDb.listColumns(db, datasetId);
    const column = columns.find((c) => c.id === columnId);
    if (!column) throw new NotFoundError('column', columnId);
    return { columns, column };
  }

  /** Re-checks the dataset's columns with `changed` applied and stores the changed one. */
  async function save(db: Db, datasetType: DatasetType, columns: readonly ColumnRecord[], changed: ColumnRecord, at: string): Promise<ColumnRecord> {
    const drafts = columns.map((c) => (c.id === changed.id ? changed : c)).map((c) => ({ columnId: c.id, name: c.name, taskType: c.taskType, metadata: c.metadata }));
    const checked = checkColumns(drafts, datasetType, new Set([changed.id]), (id) => (id === changed.id ? '' : `columns.${id}`)).find((c) => c.columnId === changed.id)!;
    const record = { ...changed, taskType: checked.taskType, metadata: checked.metadata, dependsOn: checked.dependsOn, updatedAt: at };
    await columnsDb.updateColumn(db, changed.id, { name: record.name, taskType: record.taskType, metadata: record.metadata, dependsOn: record.dependsOn, updatedAt: at });
    return record;
  }

  return {
    async add(auth: Auth, datasetId: string, input: { name: string; taskType: string; metadata?: Record<string, unknown> | undefined; position?: number | undefined }) {
      return access.mutate(auth, datasetId, async (trx, dataset) => {
        const columns = await columnsDb.listColumns(trx, datasetId);
        if (columns.length >= MAX_COLUMNS) throw new InvalidParametersError([{ path: 'name', message: `a dataset has at most ${MAX_COLUMNS} columns` }]);
        const position = input.position ?? columns.length;
        if (position > columns.length) throw new InvalidParametersError([{ path: 'position', message: `must be between 0 and ${columns.length}` }]);
        const at = now();
        const draft = { columnId: newId('column'), name: checkColumnName(input.name, 'name'), taskType: input.taskType, metadata: input.metadata ?? {} };
        const all = [...columns.map((c) => ({ columnId: c.id, name: c.name, taskType: c.taskType, metadata: c.metadata })), draft];
        const checked = checkColumns(all, dataset.type as DatasetType, new Set([draft.columnId]), (id) => (id === draft.columnId ? '' : `columns.${id}`)).at(-1)!;
        const record: ColumnRecord = { id: checked.columnId, datasetId, name: checked.name, taskType: checked.taskType, metadata: checked.metadata, dependsOn: checked.dependsOn, position, createdAt: at, updatedAt: at };
        await columnsDb.shiftColumns(trx, datasetId, position);
        await columnsDb.insertColumns(trx, [record]);
        await columnsDb.addColumnCells(trx, datasetId, record.id, at);
        return columnView(record);
      });
    },

    /** Name and metadata change; task type and values stay. A changed prompt makes done cells stale. */
    async update(auth: Auth, datasetId: string, columnId: string, patch: { name?: string | undefined; metadata?: Record<string, unknown> | undefined }) {
      return access.mutate(auth, datasetId, async (trx, dataset) => {
        const { columns, column } = await load(trx, datasetId, columnId);
        const at = now();
        const name = patch.name === undefined ? column.name : checkColumnName(patch.name, 'name');
        const metadata = patch.metadata ? mergeMetadata(column.metadata, patch.metadata) : column.metadata;
        const saved = await save(trx, dataset.type as DatasetType, columns, { ...column, name, metadata }, at);
        if (name !== column.name) {
          for (const other of columns) {
            if (other.id === columnId) continue;
            const renamed = renameInTemplates(other.metadata, column.name, name);
            if (renamed) await columnsDb.updateColumn(trx, other.id, { metadata: renamed, updatedAt: at });
          }
        }
        const promptChanged = TEMPLATE_FIELDS.some((f) => JSON.stringify(column.metadata[f]) !== JSON.stringify(saved.metadata[f])) || JSON.stringify(column.metadata.outputSchema) !== JSON.stringify(saved.metadata.outputSchema);
        if (promptChanged && saved.taskType !== 'raw') {
          const withSaved = columns.map((c) => (c.id === columnId ? saved : c));
          await markStale(trx, [columnId, ...transitiveDependents(nodes(withSaved), [columnId])], null, at);
        }
        return columnView(saved);
      });
    },

    /** New task type: validated, then every cell of the column reset in this one transaction. */
    async setTaskType(auth: Auth, datasetId: string, columnId: string, input: { taskType: string; metadata?: Record<string, unknown> | undefined }) {
      return access.mutate(auth, datasetId, async (trx, dataset) => {
        const { columns, column } = await load(trx, datasetId, columnId);
        const at = now();
        const saved = await save(trx, dataset.type as DatasetType, columns, { ...column, taskType: input.taskType, metadata: input.metadata ?? {} }, at);
        await resetColumnCells(trx, columnId, at);
        await markStale(trx, transitiveDependents(nodes(columns.map((c) => (c.id === columnId ? saved : c))), [columnId]), null, at);
        return columnView(saved);
      });
    },

    async remove(auth: Auth, datasetId: string, columnId: string) {
      return access.mutate(auth, datasetId, async (trx) => {
        const { columns, column } = await load(trx, datasetId, columnId);
        const readers = columns.filter((c) => c.dependsOn.includes(columnId));
        if (readers.length) {
          throw new InvalidParametersError([{ path: 'columnId', message: `column is read by ${readers.map((r) => `"${r.name}"`).join(', ')}; change or delete those first` }], { dependentColumnIds: readers.map((r) => r.id) });
        }
        await columnsDb.deleteColumn(trx, datasetId, columnId, column.position);
        return { datasetId, columnId, deleted: true as const };
      });
    },
  };
}
export type ColumnService = ReturnType<typeof createColumnService>;
