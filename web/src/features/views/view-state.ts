import type { Column } from '../../api/client';

/**
 * What a view asks GET /data for: a filter, sorts, a search and the columns shown. The filter's
 * shape is the API's (issue 19): `{and: [...]}` or `{or: [...]}` around conditions, which may nest.
 */
export const VALUE_OPS = ['eq', 'neq', 'contains', 'starts_with', 'gt', 'gte', 'lt', 'lte', 'empty', 'not_empty', 'in'] as const;
export type ValueOp = (typeof VALUE_OPS)[number];
export const CELL_STATUSES = ['empty', 'queued', 'processing', 'done', 'error', 'stale'] as const;

export type ValueCondition = { column: string; op: ValueOp; value?: unknown };
export type StatusCondition = { status: string; column?: string };
export type NeedsReviewCondition = { needsReview: boolean; column?: string };
export type ConfidenceCondition = { confidence: { lt?: number; gt?: number; lte?: number; gte?: number }; column?: string };
export type ReviewedCondition = { reviewed: 'approved' | 'rejected' | false; column?: string };
export type Condition = ValueCondition | StatusCondition | NeedsReviewCondition | ConfidenceCondition | ReviewedCondition;
export type FilterGroup = { and: FilterNode[] } | { or: FilterNode[] };
export type FilterNode = Condition | FilterGroup;

export type SortKey = { columnId: string; direction: 'asc' | 'desc' };

export type ViewState = {
  filter: FilterGroup | null;
  sort: SortKey[];
  q: string;
  /** Column ids shown, in order; null: every column. */
  columns: string[] | null;
};

export const EMPTY_VIEW: ViewState = { filter: null, sort: [], q: '', columns: null };

export const OP_LABELS: Record<ValueOp, string> = {
  eq: 'is',
  neq: 'is not',
  contains: 'contains',
  starts_with: 'starts with',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  empty: 'is empty',
  not_empty: 'is not empty',
  in: 'is one of',
};
/** Operators without a value. */
export const NO_VALUE_OPS: readonly ValueOp[] = ['empty', 'not_empty'];

export function isGroup(n: FilterNode): n is FilterGroup {
  return 'and' in n || 'or' in n;
}
export function groupItems(g: FilterGroup): FilterNode[] {
  return 'and' in g ? g.and : g.or;
}
export function groupJoin(g: FilterGroup): 'and' | 'or' {
  return 'and' in g ? 'and' : 'or';
}

export const sortParam = (sort: SortKey[]) => sort.map((s) => `${s.columnId}:${s.direction}`).join(',');
export function parseSort(text: string | null | undefined): SortKey[] {
  if (!text) return [];
  return text
    .split(',')
    .map((part) => part.trim().split(':'))
    .filter(([id]) => Boolean(id))
    .map(([columnId, dir]) => ({ columnId: columnId!, direction: dir === 'desc' ? 'desc' : 'asc' }));
}

/** The view as GET /data query parameters (only what is set). */
export function viewParams(v: ViewState): Record<string, string> {
  const out: Record<string, string> = {};
  if (v.filter && groupItems(v.filter).length) out.filter = JSON.stringify(v.filter);
  if (v.sort.length) out.sort = sortParam(v.sort);
  if (v.q.trim()) out.q = v.q.trim();
  return out;
}

/** True when the view changes which rows show or their order (columns alone do not). */
export function narrowsRows(v: ViewState): boolean {
  return Object.keys(viewParams(v)).length > 0;
}

export function sameView(a: ViewState, b: ViewState): boolean {
  return JSON.stringify(viewParams(a)) === JSON.stringify(viewParams(b)) && JSON.stringify(a.columns) === JSON.stringify(b.columns);
}

/** A stable key for the query cache. */
export const viewKey = (v: ViewState) => JSON.stringify([viewParams(v), v.columns]);

/** The column ids a view names (in its filter, sorts and columns), to say which are gone. */
export function columnsNamed(v: ViewState): string[] {
  const ids = new Set<string>();
  const walk = (n: FilterNode) => {
    if (isGroup(n)) groupItems(n).forEach(walk);
    else if (typeof n.column === 'string') ids.add(n.column);
  };
  if (v.filter) walk(v.filter);
  v.sort.forEach((s) => ids.add(s.columnId));
  v.columns?.forEach((c) => ids.add(c));
  return [...ids];
}

/** The columns a view shows, in its order; unknown ids are left out. */
export function shownColumns(all: Column[], v: ViewState): Column[] {
  if (!v.columns) return all;
  const byId = new Map(all.map((c) => [c.columnId, c]));
  return v.columns.map((id) => byId.get(id)).filter((c): c is Column => Boolean(c));
}

/** One line describing a condition, for chips and screen readers. */
export function describe(n: FilterNode, columns: Pick<Column, 'columnId' | 'name'>[]): string {
  if (isGroup(n)) return `(${groupItems(n).map((x) => describe(x, columns)).join(` ${groupJoin(n)} `)})`;
  const name = (id: string | undefined) => (id ? (columns.find((c) => c.columnId === id)?.name ?? id) : 'any cell');
  if ('op' in n) return `${name(n.column)} ${OP_LABELS[n.op] ?? n.op}${NO_VALUE_OPS.includes(n.op) ? '' : ` ${Array.isArray(n.value) ? n.value.join(', ') : String(n.value ?? '')}`}`;
  if ('status' in n) return `${name(n.column)}: status ${n.status}`;
  if ('needsReview' in n) return `${name(n.column)}: ${n.needsReview ? 'needs review' : 'does not need review'}`;
  if ('confidence' in n) {
    const [op, x] = Object.entries(n.confidence)[0] ?? ['lt', 0];
    return `${name(n.column)}: confidence ${op === 'lt' || op === 'lte' ? 'below' : 'above'} ${x}`;
  }
  if ('reviewed' in n) return `${name(n.column)}: ${n.reviewed === false ? 'not reviewed' : n.reviewed}`;
  return JSON.stringify(n);
}
