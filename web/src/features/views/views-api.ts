import { api, unwrap, type Schemas } from '../../api/client';
import { groupItems, parseSort, sortParam, type FilterGroup, type ViewState } from './view-state';

/** A saved view as the API keeps it (issue 19: /datasets/{id}/views). */
export type SavedView = Schemas['View'];

export async function listViews(datasetId: string): Promise<SavedView[]> {
  // At most 100 a page; a dataset with more views lists its first 100.
  return (await unwrap(api.GET('/api/v2/datasets/{datasetId}/views', { params: { path: { datasetId }, query: { limit: 100 } as never } }))).views;
}

/** A view's parts as the API takes them: a part the view leaves out is `null` (an update clears it). */
export function viewBody(v: ViewState) {
  // The cast: UpdateViewInput's filter and sort take null (it clears them), but the OpenAPI
  // document does not say so for those two (a $ref made nullable comes out as plain string).
  return { filter: v.filter && groupItems(v.filter).length ? v.filter : null, sort: v.sort.length ? sortParam(v.sort) : null, q: v.q.trim() || null, columns: v.columns } as Schemas['UpdateViewInput'];
}

export function createView(datasetId: string, name: string, v: ViewState): Promise<SavedView> {
  // Create takes no nulls: the parts left out are not sent.
  const body = Object.fromEntries(Object.entries(viewBody(v)).filter(([, x]) => x !== null));
  return unwrap(api.POST('/api/v2/datasets/{datasetId}/views', { params: { path: { datasetId } }, body: { name, ...body } }));
}

export function updateView(datasetId: string, viewId: string, patch: Schemas['UpdateViewInput']): Promise<SavedView> {
  return unwrap(api.PATCH('/api/v2/datasets/{datasetId}/views/{viewId}', { params: { path: { datasetId, viewId } }, body: patch }));
}

export async function deleteView(datasetId: string, viewId: string): Promise<void> {
  await unwrap(api.DELETE('/api/v2/datasets/{datasetId}/views/{viewId}', { params: { path: { datasetId, viewId } } }));
}

export function stateOf(v: SavedView): ViewState {
  return { filter: (v.filter as FilterGroup | undefined) ?? null, sort: parseSort(v.sort), q: v.q ?? '', columns: v.columns?.length ? v.columns : null };
}

/** POST /datasets/{id}/cells/{cellId}/review. */
export function reviewCell(datasetId: string, cellId: string, decision: 'approved' | 'rejected', note?: string) {
  return unwrap(api.POST('/api/v2/datasets/{datasetId}/cells/{cellId}/review', { params: { path: { datasetId, cellId } }, body: { decision, ...(note ? { note } : {}) } }));
}

/** POST /datasets/{id}/review: the cells of a selection at once. */
export function reviewSelection(datasetId: string, body: { decision: 'approved' | 'rejected'; note?: string; cellIds?: string[]; rowIds?: string[]; columnIds?: string[] }) {
  return unwrap(api.POST('/api/v2/datasets/{datasetId}/review', { params: { path: { datasetId } }, body }));
}
