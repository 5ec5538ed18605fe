import type { Db } from './store.ts';

export type ColumnRecord = {
  id: string;
  datasetId: string;
  name: string;
  taskType: string;
  metadata: Record<string, unknown>;
  dependsOn: string[];
  position: number;
  createdAt: string;
  updatedAt: string;
  /** The column's one value type, when recorded (imports, PATCH {dataType}); see features/columns/data-type.ts. */
  dataType?: string | null;
};

type ColumnRow = { id: string; dataset_id: string; name: string; task_type: string; metadata: string; depends_on: string; position: number; created_at: string; updated_at: string; data_type: string | null };
const toColumn = (r: ColumnRow): ColumnRecord => ({
  id: r.id,
  datasetId: r.dataset_id,
  name: r.name,
  taskType: r.task_type,
  metadata: JSON.parse(r.metadata) as Record<string, unknown>,
  dependsOn: JSON.parse(r.depends_on) as string[],
  position: Number(r.position),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  dataType: r.data_type,
});

export async function listColumns(db: Db, datasetId: string): Promise<ColumnRecord[]> {
  const rows = await db.selectFrom('dataset_columns').selectAll().where('dataset_id', '=', datasetId).orderBy('position').execute();
  return rows.map(toColumn);
}

export async function insertColumns(db: Db, columns: readonly ColumnRecord[]): Promise<void> {
  if (!columns.length) return;
  await db
    .insertInto('dataset_columns')
    .values(columns.map((c) => ({ id: c.id, dataset_id: c.datasetId, name: c.name, task_type: c.taskType, metadata: JSON.stringify(c.metadata), depends_on: JSON.stringify(c.dependsOn), position: c.position, created_at: c.createdAt, updated_at: c.updatedAt, data_type: c.dataType ?? null })))
    .execute();
}

export async function updateColumn(db: Db, id: string, patch: { name?: string; taskType?: string; metadata?: Record<string, unknown>; dependsOn?: string[]; dataType?: string | null; updatedAt: string }): Promise<void> {
  await db
    .updateTable('dataset_columns')
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.taskType !== undefined ? { task_type: patch.taskType } : {}),
      ...(patch.metadata !== undefined ? { metadata: JSON.stringify(patch.metadata) } : {}),
      ...(patch.dependsOn !== undefined ? { depends_on: JSON.stringify(patch.dependsOn) } : {}),
      ...(patch.dataType !== undefined ? { data_type: patch.dataType } : {}),
      updated_at: patch.updatedAt,
    })
    .where('id', '=', id)
    .execute();
}

/** Opens a gap at `position` for a column inserted there. */
export async function shiftColumns(db: Db, datasetId: string, fromPosition: number): Promise<void> {
  await db
    .updateTable('dataset_columns')
    .set((eb) => ({ position: eb('position', '+', 1) }))
    .where('dataset_id', '=', datasetId)
    .where('position', '>=', fromPosition)
    .execute();
}

/** Deletes a column (its metadata rows cascade; rows.ts removeColumnCells takes its cells out of the rows) and closes the gap it leaves. */
export async function deleteColumn(db: Db, datasetId: string, id: string, position: number): Promise<void> {
  await db.deleteFrom('dataset_columns').where('id', '=', id).execute();
  await db
    .updateTable('dataset_columns')
    .set((eb) => ({ position: eb('position', '-', 1) }))
    .where('dataset_id', '=', datasetId)
    .where('position', '>', position)
    .execute();
}
