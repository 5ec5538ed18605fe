import type { Db } from './store.ts';
import { toNumber } from './store.ts';

export type DatasetRecord = {
  id: string;
  workspaceId: string;
  name: string;
  description: string | null;
  type: string;
  status: string;
  activeTaskId: string | null;
  sourceDatasourceId: string | null;
  rowCount: number;
  createdAt: string;
  updatedAt: string;
};

type DatasetRow = {
  id: string;
  workspace_id: string;
  name: string;
  description: string | null;
  type: string;
  status: string;
  active_task_id: string | null;
  source_datasource_id: string | null;
  row_count: number;
  created_at: string;
  updated_at: string;
};
const toDataset = (r: DatasetRow): DatasetRecord => ({
  id: r.id,
  workspaceId: r.workspace_id,
  name: r.name,
  description: r.description,
  type: r.type,
  status: r.status,
  activeTaskId: r.active_task_id,
  sourceDatasourceId: r.source_datasource_id,
  rowCount: toNumber(r.row_count),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function insertDataset(db: Db, d: DatasetRecord): Promise<void> {
  await db
    .insertInto('datasets')
    .values({ id: d.id, workspace_id: d.workspaceId, name: d.name, description: d.description, type: d.type, status: d.status, active_task_id: d.activeTaskId, source_datasource_id: d.sourceDatasourceId, row_count: d.rowCount, created_at: d.createdAt, updated_at: d.updatedAt })
    .execute();
}

/** A dataset of the workspace, or undefined (another workspace's dataset is indistinguishable from none). */
export async function findDataset(db: Db, workspaceId: string, id: string): Promise<DatasetRecord | undefined> {
  const row = await db.selectFrom('datasets').selectAll().where('id', '=', id).where('workspace_id', '=', workspaceId).executeTakeFirst();
  return row && toDataset(row);
}

export async function listDatasets(db: Db, workspaceId: string, filter: { type?: string | undefined; status?: string | undefined; offset: number; limit: number }): Promise<{ items: DatasetRecord[]; total: number }> {
  let q = db.selectFrom('datasets').where('workspace_id', '=', workspaceId);
  if (filter.type) q = q.where('type', '=', filter.type);
  if (filter.status) q = q.where('status', '=', filter.status);
  const [rows, count] = await Promise.all([
    q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').offset(filter.offset).limit(filter.limit).execute(),
    q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toDataset), total: toNumber(count.n) };
}

export async function updateDataset(db: Db, id: string, patch: { name?: string; description?: string | null; rowCountDelta?: number; updatedAt: string }): Promise<void> {
  await db
    .updateTable('datasets')
    .set((eb) => ({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.rowCountDelta ? { row_count: eb('row_count', '+', patch.rowCountDelta) } : {}),
      updated_at: patch.updatedAt,
    }))
    .where('id', '=', id)
    .execute();
}

/** Task transitions write the dataset's status and lock here (the engine calls this). */
export async function setDatasetTaskState(db: Db, id: string, state: { status: string; activeTaskId: string | null; updatedAt: string }): Promise<void> {
  await db.updateTable('datasets').set({ status: state.status, active_task_id: state.activeTaskId, updated_at: state.updatedAt }).where('id', '=', id).execute();
}

/** Deletes the dataset; columns, rows, cells and tasks go with it through ON DELETE CASCADE. */
export async function deleteDataset(db: Db, id: string): Promise<void> {
  await db.deleteFrom('datasets').where('id', '=', id).execute();
}

export async function countColumns(db: Db, datasetIds: readonly string[]): Promise<Map<string, number>> {
  if (!datasetIds.length) return new Map();
  const rows = await db.selectFrom('dataset_columns').select(['dataset_id', (eb) => eb.fn.countAll().as('n')]).where('dataset_id', 'in', datasetIds).groupBy('dataset_id').execute();
  return new Map(rows.map((r) => [r.dataset_id, toNumber(r.n)]));
}

/** Datasources linked from any cell of these datasets. */
export async function linkedDatasources(db: Db, datasetIds: readonly string[]): Promise<Map<string, string[]>> {
  if (!datasetIds.length) return new Map();
  const rows = await db
    .selectFrom('cell_meta')
    .innerJoin('dataset_rows', 'dataset_rows.id', 'cell_meta.row_id')
    .select(['dataset_rows.dataset_id as datasetId', 'cell_meta.datasource_id as datasourceId'])
    .distinct()
    .where('cell_meta.datasource_id', 'is not', null)
    .where('dataset_rows.dataset_id', 'in', datasetIds)
    .execute();
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.datasetId, [...(out.get(r.datasetId) ?? []), r.datasourceId!]);
  return out;
}
