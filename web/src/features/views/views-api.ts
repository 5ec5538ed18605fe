import { api, apiFetch, errorOf, unwrap } from '../../api/client';
import { parseSort, sortParam, type FilterGroup, type ViewState } from './view-state';

/** A saved view as the API keeps it (issue 19: POST /datasets/{id}/views). */
export type SavedView = { viewId: string; name: string; filter: FilterGroup | null; sort: string | null; columns: string[] | null; q: string | null; createdAt?: string; updatedAt?: string };

const base = (datasetId: string) => `/api/v2/datasets/${encodeURIComponent(datasetId)}/views`;

async function call<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await apiFetch(url, { ...init, headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
  if (!res.ok) throw await errorOf(res);
  return res.status === 204 ? (undefined as T) : ((await res.json()) as T);
}

export function listViews(datasetId: string): Promise<SavedView[]> {
  return call<{ views: SavedView[] }>(base(datasetId)).then((r) => r.views);
}

export function viewBody(name: string, v: ViewState) {
  return { name, filter: v.filter, sort: v.sort.length ? sortParam(v.sort) : null, columns: v.columns, q: v.q.trim() || null };
}

export function createView(datasetId: string, name: string, v: ViewState): Promise<SavedView> {
  return call<SavedView>(base(datasetId), { method: 'POST', body: JSON.stringify(viewBody(name, v)) });
}

export function updateView(datasetId: string, viewId: string, patch: Partial<ReturnType<typeof viewBody>>): Promise<SavedView> {
  return call<SavedView>(`${base(datasetId)}/${encodeURIComponent(viewId)}`, { method: 'PATCH', body: JSON.stringify(patch) });
}

export function deleteView(datasetId: string, viewId: string): Promise<void> {
  return call<void>(`${base(datasetId)}/${encodeURIComponent(viewId)}`, { method: 'DELETE' });
}

export function stateOf(v: SavedView): ViewState {
  return { filter: v.filter ?? null, sort: parseSort(v.sort), q: v.q ?? '', columns: v.columns?.length ? v.columns : null };
}

/** POST /datasets/{id}/cells/{cellId}/review. */
export function reviewCell(datasetId: string, cellId: string, decision: 'approved' | 'rejected', note?: string) {
  return unwrap(api.POST('/api/v2/datasets/{datasetId}/cells/{cellId}/review', { params: { path: { datasetId, cellId } }, body: { decision, ...(note ? { note } : {}) } }));
}

/** POST /datasets/{id}/review: the cells of a selection at once. */
export function reviewSelection(datasetId: string, body: { decision: 'approved' | 'rejected'; note?: string; cellIds?: string[]; rowIds?: string[]; columnIds?: string[] }) {
  return unwrap(api.POST('/api/v2/datasets/{datasetId}/review', { params: { path: { datasetId } }, body }));
}
