import type { ColumnRecord } from '../../store/columns.ts';
import { ensureRowIndexes } from '../../store/row-index.ts';
import { countRows, queryRows, type QueriedRow, type RowCursor, type RowQuery } from '../../store/row-query.ts';
import type { Db } from '../../store/store.ts';
import { dataTypeOf } from '../columns/data-type.ts';
import { checkViewQuery, parseFilterParam, type CheckedViewQuery } from './query.schema.ts';
import { decodeCursor, encodeCursor, indexedColumnsOf, toRowFilter, toRowSort } from './row-filter.ts';

/** A view's query as /data and exports receive it: filter as parsed JSON (export body) or URL text (/data). */
export type ViewParams = { filter?: unknown; filterText?: string | undefined; sort?: string | undefined; q?: string | undefined; cursor?: string | undefined };

export const isViewRead = (p: ViewParams) => p.filter !== undefined || p.filterText !== undefined || !!p.sort || !!p.q || p.cursor !== undefined;

/**
 * A view query ready to run: checked against the dataset's columns (INVALID_PARAMETERS naming each
 * problem), typed by their dataTypes, and the columns it reads indexed (built on first use).
 */
export async function prepareViewQuery(db: Db, datasetId: string, columns: readonly ColumnRecord[], params: ViewParams, paths: { filter?: string } = {}): Promise<{ checked: CheckedViewQuery; query: Omit<RowQuery, 'limit' | 'offset' | 'after'>; after: RowCursor | null }> {
  const filter = params.filterText !== undefined ? parseFilterParam(params.filterText) : params.filter;
  const checked = checkViewQuery({ filter, sort: params.sort, q: params.q }, columns, paths);
  const typed = columns.map((c) => ({ id: c.id, dataType: dataTypeOf(c) }));
  const sort = toRowSort(checked, typed);
  const query = { datasetId, columnIds: columns.map((c) => c.id), filter: toRowFilter(checked.filter, typed, paths.filter), sort, q: checked.q };
  const after = params.cursor !== undefined ? decodeCursor(params.cursor, sort) : null;
  await ensureRowIndexes(db, datasetId, indexedColumnsOf(checked));
  return { checked, query, after };
}

/** One page of a view: rows, matching total and the cursor of the next page (null at the end). */
export async function readViewPage(db: Db, prepared: Awaited<ReturnType<typeof prepareViewQuery>>, page: { limit: number; offset: number }, rowCount?: number): Promise<{ rows: QueriedRow[]; total: number; nextCursor: string | null }> {
  const q: RowQuery = { ...prepared.query, limit: page.limit, offset: page.offset, after: prepared.after };
  // Only a sort or a cursor: every row matches, and the dataset knows how many it has.
  const known = !q.filter && q.q === undefined ? rowCount : undefined;
  const { rows, more, total } = await queryRows(db, q, known);
  const last = rows[rows.length - 1];
  return { rows, total, nextCursor: more && last ? encodeCursor(prepared.query.sort, { keys: last.keys, position: last.position }) : null };
}

/** The rows of a view in pages of `size` (exports): skip `skip`, then at most `count` rows, keyset-paged. */
export async function* viewRowPages(db: Db, prepared: Awaited<ReturnType<typeof prepareViewQuery>>, range: { skip: number; count: number }, size: number): AsyncGenerator<QueriedRow[]> {
  let after = prepared.after;
  let offset = range.skip;
  let left = range.count;
  const total = await countRows(db, { ...prepared.query, limit: size, offset, after });
  while (left > 0) {
    const { rows, more } = await queryRows(db, { ...prepared.query, limit: Math.min(size, left), offset, after }, total);
    if (!rows.length) return;
    yield rows;
    left -= rows.length;
    if (!more) return;
    const last = rows[rows.length - 1]!;
    after = { keys: last.keys, position: last.position };
    offset = 0;
  }
}

/** The plain /data page's cursor: the position of its last row (pages of the plain read are position ranges). */
export function positionCursor(lastPosition: number): string {
  return encodeCursor([], { keys: [], position: lastPosition });
}
