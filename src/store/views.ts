import type { Db } from './store.ts';
import { toNumber } from './store.ts';

/** A saved view's query, stored as JSON: each part absent when the view does not set it. */
export type ViewQueryRecord = { filter?: unknown; sort?: string; q?: string; columns?: string[] };
export type ViewRecord = { id: string; datasetId: string; name: string; query: ViewQueryRecord; createdAt: string; updatedAt: string };

type Row = { id: string; dataset_id: string; name: string; query: string; created_at: string; updated_at: string };
const toView = (r: Row): ViewRecord => ({ id: r.id, datasetId: r.dataset_id, name: r.name, query: JSON.parse(r.query) as ViewQueryRecord, createdAt: r.created_at, updatedAt: r.updated_at });

export async function insertView(db: Db, v: ViewRecord): Promise<void> {
  await db.insertInto('views').values({ id: v.id, dataset_id: v.datasetId, name: v.name, query: JSON.stringify(v.query), created_at: v.createdAt, updated_at: v.updatedAt }).execute();
}

/** The view, only within its dataset (the caller has checked the dataset's workspace). */
export async function findView(db: Db, datasetId: string, viewId: string): Promise<ViewRecord | undefined> {
  const row = await db.selectFrom('views').selectAll().where('id', '=', viewId).where('dataset_id', '=', datasetId).executeTakeFirst();
  return row && toView(row);
}

export async function listViews(db: Db, datasetId: string, offset: number, limit: number): Promise<{ items: ViewRecord[]; total: number }> {
  const [rows, count] = await Promise.all([
    db.selectFrom('views').selectAll().where('dataset_id', '=', datasetId).orderBy('created_at').orderBy('id').offset(offset).limit(limit).execute(),
    db.selectFrom('views').select((eb) => eb.fn.countAll().as('n')).where('dataset_id', '=', datasetId).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toView), total: toNumber(count.n) };
}

export async function updateView(db: Db, v: ViewRecord): Promise<void> {
  await db.updateTable('views').set({ name: v.name, query: JSON.stringify(v.query), updated_at: v.updatedAt }).where('id', '=', v.id).where('dataset_id', '=', v.datasetId).execute();
}

export async function deleteView(db: Db, datasetId: string, viewId: string): Promise<boolean> {
  const r = await db.deleteFrom('views').where('id', '=', viewId).where('dataset_id', '=', datasetId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
