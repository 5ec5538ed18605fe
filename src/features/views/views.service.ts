import { ApiError, InvalidParametersError, NotFoundError } from '../../http/errors.ts';
import { newId } from '../../ids.ts';
import { listColumns, type ColumnRecord } from '../../store/columns.ts';
import { now, type Db, type Store } from '../../store/store.ts';
import * as viewsDb from '../../store/views.ts';
import type { ViewQueryRecord, ViewRecord } from '../../store/views.ts';
import { dataTypeOf } from '../columns/data-type.ts';
import type { DatasetAccess } from '../datasets/dataset-access.ts';
import type { Auth } from '../keys/keys.service.ts';
import { checkViewQuery, filterConditions, parseFilter, parseSort } from './query.schema.ts';
import { toRowFilter, toRowSort } from './row-filter.ts';
import type { CreateViewInput, UpdateViewInput, View } from './views.schema.ts';

/** The columns a saved query names (filter, sort, columns), whether they exist or not. */
function namedColumns(query: ViewQueryRecord): string[] {
  const out = new Set<string>();
  try {
    for (const { condition } of filterConditions(query.filter === undefined ? undefined : parseFilter(query.filter))) {
      const column = (condition as { column?: string }).column;
      if (column !== undefined) out.add(column);
    }
    for (const k of parseSort(query.sort)) out.add(k.column);
  } catch {
    // A stored query was valid when saved; the shape cannot have changed since.
  }
  for (const c of query.columns ?? []) out.add(c);
  return [...out];
}

const missingOf = (query: ViewQueryRecord, columns: readonly ColumnRecord[]) => {
  const known = new Set(columns.map((c) => c.id));
  return namedColumns(query).filter((c) => !known.has(c));
};

/**
 * Checks a view's query as a read would (issue 19): shape and operators, the columns it names, and
 * the operands against each column's data type, so a saved view always runs. INVALID_PARAMETERS
 * names each bad path.
 */
function checkQuery(query: ViewQueryRecord, columns: readonly ColumnRecord[]): void {
  const checked = checkViewQuery({ filter: query.filter, sort: query.sort, q: query.q, columns: query.columns }, columns);
  const typed = columns.map((c) => ({ id: c.id, dataType: dataTypeOf(c) }));
  toRowFilter(checked.filter, typed);
  toRowSort(checked, typed);
}

/** The query parts a view sets, nothing for the parts it leaves out (so an update can clear one with null). */
function queryOf(input: { filter?: unknown; sort?: string | null | undefined; q?: string | null | undefined; columns?: string[] | null | undefined }, base: ViewQueryRecord = {}): ViewQueryRecord {
  const out: ViewQueryRecord = { ...base };
  const set = <K extends keyof ViewQueryRecord>(key: K, value: ViewQueryRecord[K] | null | undefined) => {
    if (value === undefined) return;
    if (value === null || value === '') delete out[key];
    else out[key] = value;
  };
  set('filter', input.filter as ViewQueryRecord['filter']);
  set('sort', input.sort);
  set('q', input.q);
  set('columns', input.columns ? [...new Set(input.columns)] : input.columns);
  return out;
}

function viewOf(v: ViewRecord, columns: readonly ColumnRecord[]): View {
  return { viewId: v.id, datasetId: v.datasetId, name: v.name, filter: v.query.filter ?? null, sort: v.query.sort ?? null, q: v.query.q ?? null, columns: v.query.columns ?? null, missingColumns: missingOf(v.query, columns), createdAt: v.createdAt, updatedAt: v.updatedAt };
}

/**
 * What `viewId` on GET /data and on export applies: the saved view's query, checked against the
 * dataset's columns now. The dataset is checked for the caller's workspace (DATASET_NOT_FOUND);
 * a view of another dataset is VIEW_NOT_FOUND; a view naming a column deleted since is
 * VIEW_OUTDATED (409), naming the view and the columns, never a read that silently drops them.
 */
export async function resolveView(db: Db, access: DatasetAccess, auth: Auth, datasetId: string, viewId: string): Promise<ViewQueryRecord> {
  await access.get(auth, datasetId, db);
  const view = await viewsDb.findView(db, datasetId, viewId);
  if (!view) throw new NotFoundError('view', viewId);
  const missing = missingOf(view.query, await listColumns(db, datasetId));
  if (missing.length) {
    throw new ApiError('VIEW_OUTDATED', `View "${view.name}" (${view.id}) uses column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which no longer exist${missing.length > 1 ? '' : 's'}; update or delete the view`, {
      viewId: view.id,
      name: view.name,
      columnIds: missing,
    });
  }
  return view.query;
}

/**
 * Saved views (issue 19): a name and a query (filter, sort, q, columns) of one dataset. Reads
 * need `read`, changes `write`; another workspace's dataset is DATASET_NOT_FOUND, another
 * dataset's view VIEW_NOT_FOUND. Views are not data: they can be saved while a task runs.
 */
export function createViewService({ store, access }: { store: Store; access: DatasetAccess }) {
  async function load(auth: Auth, datasetId: string, viewId: string) {
    await access.get(auth, datasetId);
    const view = await viewsDb.findView(store.db, datasetId, viewId);
    if (!view) throw new NotFoundError('view', viewId);
    return view;
  }

  return {
    resolve: (auth: Auth, datasetId: string, viewId: string) => resolveView(store.db, access, auth, datasetId, viewId),

    async create(auth: Auth, datasetId: string, input: CreateViewInput): Promise<View> {
      await access.get(auth, datasetId);
      const columns = await listColumns(store.db, datasetId);
      const query = queryOf(input);
      checkQuery(query, columns);
      const at = now();
      const view: ViewRecord = { id: newId('view'), datasetId, name: input.name, query, createdAt: at, updatedAt: at };
      await viewsDb.insertView(store.db, view);
      return viewOf(view, columns);
    },

    async list(auth: Auth, datasetId: string, page: number, limit: number) {
      await access.get(auth, datasetId);
      const [{ items, total }, columns] = await Promise.all([viewsDb.listViews(store.db, datasetId, (page - 1) * limit, limit), listColumns(store.db, datasetId)]);
      return { views: items.map((v) => viewOf(v, columns)), total };
    },

    async get(auth: Auth, datasetId: string, viewId: string): Promise<View> {
      const view = await load(auth, datasetId, viewId);
      return viewOf(view, await listColumns(store.db, datasetId));
    },

    /** Fields given replace the view's (null clears a part); the result is checked as a new view is. */
    async update(auth: Auth, datasetId: string, viewId: string, input: UpdateViewInput): Promise<View> {
      const view = await load(auth, datasetId, viewId);
      if (Object.keys(input).length === 0) throw new InvalidParametersError([{ path: '', message: 'give at least one of name, filter, sort, q, columns' }]);
      const columns = await listColumns(store.db, datasetId);
      const next: ViewRecord = { ...view, name: input.name ?? view.name, query: queryOf(input, view.query), updatedAt: now() };
      checkQuery(next.query, columns);
      await viewsDb.updateView(store.db, next);
      return viewOf(next, columns);
    },

    async remove(auth: Auth, datasetId: string, viewId: string) {
      await load(auth, datasetId, viewId);
      await viewsDb.deleteView(store.db, datasetId, viewId);
      return { viewId, deleted: true as const };
    },
  };
}
export type ViewService = ReturnType<typeof createViewService>;
