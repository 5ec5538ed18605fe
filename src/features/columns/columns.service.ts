import { InvalidParametersError, NotFoundError } from '../../http/errors.ts';
import { newId } from '../../ids.ts';
import { renameInTemplates, stages, transitiveDependents, withRowDependencies } from '../../engine/dependencies.ts';
import { requestFingerprint } from '../../engine/fingerprint.ts';
import { cellId } from '../../ids.ts';
import { convertValue, dataTypeOf, type DataType } from './data-type.ts';
import * as columnsDb from '../../store/columns.ts';
import type { ColumnRecord } from '../../store/columns.ts';
import { addColumnCells, columnValues, columnsCells, markStale, removeColumnCells, resetColumnCells, setCellStatuses, setColumnValues, type CellStatus } from '../../store/rows.ts';
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

  /**
   * Re-derives done/stale for the changed column and every column reading it, in dependency order:
   * a cell is stale when its recorded fingerprint differs from the one computed now, or a cell it
   * reads is stale. Cells computed before fingerprints existed go stale on a prompt change, as before.
   */
  async function restale(trx: Db, datasetId: string, columns: readonly ColumnRecord[], columnId: string, promptChanged: boolean, at: string) {
    const effective = withRowDependencies(columns);
    const affected = [columnId, ...transitiveDependents(nodes(columns), [columnId])];
    const order = stages(effective.filter((c) => affected.includes(c.id)));
    const targets = [...affected].sort((a, b) => order.get(a)! - order.get(b)!).map((id) => effective.find((c) => c.id === id)!);
    const readIds = new Set(targets.flatMap((c) => [c.id, ...c.dependsOn]));
    const cells = await columnsCells(trx, datasetId, [...readIds]);
    const byKey = new Map(cells.map((c) => [`${c.rowId}/${c.columnId}`, c]));
    const changes: { rowId: string; columnId: string; status: CellStatus }[] = [];
    for (const target of targets) {
      for (const cell of cells) {
        if (cell.columnId !== target.id || (cell.status !== 'done' && cell.status !== 'stale')) continue;
        const inputs = target.dependsOn.map((id) => byKey.get(`${cell.rowId}/${id}`));
        const recorded = cell.metadata.fingerprint;
        let stale: boolean;
        if (typeof recorded !== 'string') stale = cell.status === 'stale' || (promptChanged && target.id === columnId) || inputs.some((i) => i?.status === 'stale');
        else stale = recorded !== requestFingerprint(target, inputs.map((i) => i?.value ?? null), columns) || inputs.some((i) => i?.status === 'stale');
        const status: CellStatus = stale ? 'stale' : 'done';
        if (status !== cell.status) {
          cell.status = status;
          changes.push({ rowId: cell.rowId, columnId: cell.columnId, status });
        }
      }
    }
    await setCellStatuses(trx, changes, at);
  }

  /** Converts every value of the column to `to`, or refuses (nothing changed) listing the first values that do not convert. */
  async function convertColumn(trx: Db, column: ColumnRecord, to: DataType, at: string) {
    const values = await columnValues(trx, column.datasetId, column.id);
    const converted: { rowId: string; value: unknown }[] = [];
    const refused: { cellId: string; rowId: string; value: unknown }[] = [];
    for (const v of values) {
      const out = convertValue(v.value, to);
      if (!out) refused.push({ cellId: cellId(v.rowId, column.id), rowId: v.rowId, value: v.value });
      else if (JSON.stringify(out.value) !== JSON.stringify(v.value)) converted.push({ rowId: v.rowId, value: out.value });
    }
    if (refused.length) {
      const first = refused.slice(0, 10);
      throw new InvalidParametersError([{ path: 'dataType', message: `${refused.length} value(s) of column "${column.name}" do not convert to ${to}: ${first.map((r) => JSON.stringify(r.value)).join(', ')}` }], { dataType: to, failed: refused.length, values: first });
    }
    await setColumnValues(trx, column.id, converted, at);
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
        const record: ColumnRecord = { id: checked.columnId, datasetId, name: checked.name, taskType: checked.taskType, metadata: checked.metadata, dependsOn: checked.dependsOn, position, createdAt: at, updatedAt: at, ...(checked.taskType === 'raw' ? { dataType: 'text' } : {}) };
        await columnsDb.shiftColumns(trx, datasetId, position);
        await columnsDb.insertColumns(trx, [record]);
        await addColumnCells(trx, datasetId, record.id, position, at);
        return columnView(record);
      });
    },

    /**
     * Name, metadata and data type change; the task type stays. A computed cell is stale exactly
     * when the fingerprint of the request it would make now differs from the one it recorded (see
     * engine/fingerprint.ts): a changed prompt makes the column's cells (and their readers) stale,
     * setting it back makes them done again, an unchanged save marks nothing. `dataType` converts
     * the values, or is refused listing the first values that do not convert.
     */
    async update(auth: Auth, datasetId: string, columnId: string, patch: { name?: string | undefined; metadata?: Record<string, unknown> | undefined; dataType?: DataType | undefined }) {
      return access.mutate(auth, datasetId, async (trx, dataset) => {
        const { columns, column } = await load(trx, datasetId, columnId);
        const at = now();
        const name = patch.name === undefined ? column.name : checkColumnName(patch.name, 'name');
        const metadata = patch.metadata ? mergeMetadata(column.metadata, patch.metadata) : column.metadata;
        const saved = await save(trx, dataset.type as DatasetType, columns, { ...column, name, metadata }, at);
        const renamedMeta = new Map<string, ColumnRecord['metadata']>();
        if (name !== column.name) {
          for (const other of columns) {
            if (other.id === columnId) continue;
            const renamed = renameInTemplates(other.metadata, column.name, name);
            if (renamed) {
              renamedMeta.set(other.id, renamed);
              await columnsDb.updateColumn(trx, other.id, { metadata: renamed, updatedAt: at });
            }
          }
        }
        const promptChanged = TEMPLATE_FIELDS.some((f) => JSON.stringify(column.metadata[f]) !== JSON.stringify(saved.metadata[f])) || JSON.stringify(column.metadata.outputSchema) !== JSON.stringify(saved.metadata.outputSchema);
        if (saved.taskType !== 'raw') {
          const withSaved = columns.map((c) => (c.id === columnId ? saved : renamedMeta.has(c.id) ? { ...c, metadata: renamedMeta.get(c.id)! } : c));
          await restale(trx, datasetId, withSaved, columnId, promptChanged, at);
        }
        if (patch.dataType !== undefined && patch.dataType !== dataTypeOf(saved)) {
          await convertColumn(trx, saved, patch.dataType, at);
          saved.dataType = patch.dataType;
          await columnsDb.updateColumn(trx, columnId, { dataType: patch.dataType, updatedAt: at });
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
        await resetColumnCells(trx, datasetId, columnId, at);
        await markStale(trx, datasetId, transitiveDependents(nodes(columns.map((c) => (c.id === columnId ? saved : c))), [columnId]), null, at);
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
        await removeColumnCells(trx, datasetId, columnId, now());
        await columnsDb.deleteColumn(trx, datasetId, columnId, column.position);
        return { datasetId, columnId, deleted: true as const };
      });
    },
  };
}
export type ColumnService = ReturnType<typeof createColumnService>;
