import { apiFetch, errorOf, type Column } from '../../api/client';
import type { BlockBody, GridCellData } from '../grid/grid-window';
import { groupItems, type FilterGroup, type FilterNode } from '../views/view-state';

/** One cell to check, with its row's other cells for context. */
export type ReviewItem = { cellId: string; rowId: string; columnId: string; cell: GridCellData; row: GridCellData[]; columns: BlockBody['columns'] };
export type ReviewPage = { items: ReviewItem[]; totalPages: number; totalRows: number };

export const REVIEW_PAGE = 50;

/** The view's filter with "needs review" added: review walks the rows the view shows. */
export function reviewFilter(view: FilterGroup | null): FilterGroup {
  const needs: FilterNode = { needsReview: true };
  if (!view || groupItems(view).length === 0) return { and: [needs] };
  return { and: [needs, view] };
}

/**
 * A page of rows with a cell that needs review (GET /data with the filter), as the cells to check
 * in reading order: row by row, then column by column in the dataset's order.
 */
export async function fetchReviewPage(datasetId: string, filter: FilterGroup, sort: string | undefined, q: string | undefined, page: number, columns: Column[]): Promise<ReviewPage> {
  const params = new URLSearchParams({ filter: JSON.stringify(filter), page: String(page), limit: String(REVIEW_PAGE), includeMetadata: 'true' });
  if (sort) params.set('sort', sort);
  if (q) params.set('q', q);
  const res = await apiFetch(`/api/v2/datasets/${encodeURIComponent(datasetId)}/data?${params}`);
  if (!res.ok) throw await errorOf(res);
  const body = (await res.json()) as BlockBody & { pagination: { total: number; totalPages?: number } };
  const items: ReviewItem[] = [];
  const order = columns.map((c) => body.columns.findIndex((x) => x.columnId === c.columnId));
  body.data.forEach((row, r) => {
    for (const k of order) {
      if (k < 0) continue;
      const cell = row[k]!;
      if (cell.metadata?.needsReview === true && cell.cellId) items.push({ cellId: cell.cellId, rowId: body.rowIds[r]!, columnId: body.columns[k]!.columnId, cell, row, columns: body.columns });
    }
  });
  return { items, totalPages: body.pagination.totalPages ?? Math.ceil(body.pagination.total / REVIEW_PAGE), totalRows: body.pagination.total };
}
