import { z } from '@hono/zod-openapi';
import { InvalidParametersError, type Issue } from '../../http/errors.ts';

/**
 * The row query of a view (issue 19): `filter`, `sort`, `q` and `columns`, shared by
 * `GET /datasets/{id}/data` (filter as URL-encoded JSON), the body of `POST .../export` and saved
 * views. The zod schemas give the runtime check, the types and the OpenAPI components; checks
 * that need the dataset's columns are in `checkViewQuery`.
 */

/** Operators on a column's value. Comparisons follow the column's dataType (docs/views.md). */
export const FilterOp = z.enum(['eq', 'neq', 'contains', 'starts_with', 'gt', 'gte', 'lt', 'lte', 'empty', 'not_empty', 'in']).openapi('FilterOp');
export type FilterOp = z.infer<typeof FilterOp>;
export const FILTER_OPS: readonly FilterOp[] = FilterOp.options;
/** Operators that take no `value`. */
export const UNARY_OPS: ReadonlySet<FilterOp> = new Set(['empty', 'not_empty']);

const FilterScalar = z.union([z.string(), z.number(), z.boolean()]);
const columnRef = z.string().min(1).openapi({ description: 'a column id of the dataset', example: 'col_0a1b2c3d4e5f6g' });
const stateColumn = columnRef.optional().openapi({ description: 'the column whose cell must match; without it, any cell of the row' });

export const ColumnCondition = z
  .strictObject({
    column: columnRef,
    op: FilterOp,
    value: z.union([FilterScalar, z.array(FilterScalar)]).optional().openapi({ description: 'the operand: an array for `in`, none for `empty`/`not_empty`, else a string, number or boolean' }),
  })
  .openapi('ColumnCondition');
export type ColumnCondition = z.infer<typeof ColumnCondition>;

export const CellStatusValue = z.enum(['empty', 'queued', 'processing', 'done', 'error', 'stale']);
export const StatusCondition = z.strictObject({ status: CellStatusValue, column: stateColumn }).openapi('StatusCondition');
export const NeedsReviewCondition = z.strictObject({ needsReview: z.boolean(), column: stateColumn }).openapi('NeedsReviewCondition');
export const ConfidenceBound = z
  .strictObject({ lt: z.number().optional(), lte: z.number().optional(), gt: z.number().optional(), gte: z.number().optional() })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: 'give at least one of lt, lte, gt, gte' })
  .openapi('ConfidenceBound');
export const ConfidenceCondition = z.strictObject({ confidence: ConfidenceBound, column: stateColumn }).openapi('ConfidenceCondition');
export const ReviewedCondition = z
  .strictObject({ reviewed: z.union([z.enum(['approved', 'rejected']), z.literal(false)]).openapi({ description: 'the review decision (metadata.review.decision); false: not reviewed' }), column: stateColumn })
  .openapi('ReviewedCondition');

export type StateCondition =
  | z.infer<typeof StatusCondition>
  | z.infer<typeof NeedsReviewCondition>
  | z.infer<typeof ConfidenceCondition>
  | z.infer<typeof ReviewedCondition>;
export type FilterCondition = ColumnCondition | StateCondition;
export type ViewFilter = { and: ViewFilter[] } | { or: ViewFilter[] } | FilterCondition;

/** Nesting deeper than this is refused (a filter is typed by a person or a web form). */
export const MAX_FILTER_DEPTH = 8;
/** Conditions in one filter, all levels together. */
export const MAX_FILTER_CONDITIONS = 100;

const condition = z.union([ColumnCondition, StatusCondition, NeedsReviewCondition, ConfidenceCondition, ReviewedCondition]);
export const ViewFilter: z.ZodType<ViewFilter> = z
  .lazy(() => z.union([z.strictObject({ and: z.array(ViewFilter) }), z.strictObject({ or: z.array(ViewFilter) }), condition]))
  .openapi('ViewFilter', {
    description:
      'Conditions combined with {"and": [...]} or {"or": [...]}, nesting allowed. A condition: {"column", "op", "value"} on a value, or a state condition ({"status"}, {"needsReview"}, {"confidence": {"lt"}}, {"reviewed"}) with an optional "column".',
    example: { and: [{ column: 'col_0a1b2c3d4e5f6g', op: 'eq', value: 'Lyon' }, { needsReview: true }] },
  }) as unknown as z.ZodType<ViewFilter>;

/** `colId:asc|desc`, several separated by commas; the direction defaults to asc. */
export const ViewSort = z
  .string()
  .max(2000)
  .openapi('ViewSort', { description: 'columnId:asc|desc, several separated by commas (asc when omitted); nulls sort last either way, ties by row position', example: 'col_0a1b2c3d4e5f6g:desc' });
export type SortKey = { column: string; dir: 'asc' | 'desc' };

export const ViewQ = z.string().max(500).openapi({ description: 'search across the row text (case-insensitive)' });

export const ViewQuery = z
  .strictObject({
    filter: ViewFilter.optional(),
    sort: ViewSort.optional(),
    q: ViewQ.optional(),
    columns: z.array(z.string().min(1)).max(1000).optional().openapi({ description: 'column ids to show, in this order' }),
  })
  .openapi('ViewQuery');
export type ViewQuery = { filter?: ViewFilter | undefined; sort?: string | undefined; q?: string | undefined; columns?: string[] | undefined };

/** A checked query: the filter typed, the sort parsed. */
export type CheckedViewQuery = { filter?: ViewFilter | undefined; sort: SortKey[]; q?: string | undefined; columns?: string[] | undefined };

/** The columns a query is checked against (a dataset's columns). */
export type QueryColumn = { id: string };

const zodIssues = (error: z.ZodError, prefix: string): Issue[] =>
  error.issues.map((i) => ({ path: [prefix, ...i.path.map(String)].filter(Boolean).join('.'), message: i.message }));

/** Parses `filter=` of a URL (JSON text). Bad JSON or a bad shape: INVALID_PARAMETERS on `filter`. */
export function parseFilterParam(text: string, path = 'filter'): ViewFilter {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidParametersError([{ path, message: 'must be JSON (URL-encoded)' }]);
  }
  return parseFilter(raw, path);
}

/** Checks a filter value's shape (structure and operators), naming the path of each problem. */
export function parseFilter(raw: unknown, path = 'filter'): ViewFilter {
  const issues: Issue[] = [];
  let count = 0;
  const walk = (node: unknown, at: string, depth: number): void => {
    if (depth > MAX_FILTER_DEPTH) {
      issues.push({ path: at, message: `nests deeper than ${MAX_FILTER_DEPTH} levels` });
      return;
    }
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      issues.push({ path: at, message: 'must be an object: {"and": [...]}, {"or": [...]} or a condition' });
      return;
    }
    const keys = Object.keys(node);
    for (const group of ['and', 'or'] as const) {
      if (!(group in node)) continue;
      const list = (node as Record<string, unknown>)[group];
      if (keys.length !== 1) issues.push({ path: at, message: `"${group}" must be the only key of its object` });
      if (!Array.isArray(list)) issues.push({ path: `${at}.${group}`, message: 'must be an array' });
      else list.forEach((child, i) => walk(child, `${at}.${group}.${i}`, depth + 1));
      return;
    }
    if (++count > MAX_FILTER_CONDITIONS) {
      if (count === MAX_FILTER_CONDITIONS + 1) issues.push({ path: at, message: `more than ${MAX_FILTER_CONDITIONS} conditions` });
      return;
    }
    const c = node as Record<string, unknown>;
    if ('op' in c || ('value' in c && !('status' in c))) {
      if (!(FILTER_OPS as readonly unknown[]).includes(c.op)) {
        issues.push({ path: `${at}.op`, message: `unknown operator ${JSON.stringify(c.op)}; one of ${FILTER_OPS.join(', ')}` });
        return;
      }
      const parsed = ColumnCondition.safeParse(c);
      if (!parsed.success) {
        issues.push(...zodIssues(parsed.error, at));
        return;
      }
      const op = parsed.data.op;
      const value = parsed.data.value;
      if (UNARY_OPS.has(op as FilterOp)) {
        if (value !== undefined) issues.push({ path: `${at}.value`, message: `${op} takes no value` });
      } else if (op === 'in') {
        if (!Array.isArray(value)) issues.push({ path: `${at}.value`, message: 'in takes an array of values' });
        else if (value.length > 1000) issues.push({ path: `${at}.value`, message: 'at most 1000 values' });
      } else if (value === undefined || Array.isArray(value)) issues.push({ path: `${at}.value`, message: `${op} takes one string, number or boolean` });
      return;
    }
    const kind = ['status', 'needsReview', 'confidence', 'reviewed'].find((k) => k in c);
    if (!kind) {
      issues.push({ path: at, message: `unknown condition (keys: ${keys.join(', ') || 'none'}); a condition has "column" and "op", or one of status, needsReview, confidence, reviewed` });
      return;
    }
    const schema = { status: StatusCondition, needsReview: NeedsReviewCondition, confidence: ConfidenceCondition, reviewed: ReviewedCondition }[kind]!;
    const parsed = (schema as z.ZodType).safeParse(c);
    if (!parsed.success) issues.push(...zodIssues(parsed.error, at));
  };
  walk(raw, path, 0);
  if (issues.length) throw new InvalidParametersError(issues);
  return raw as ViewFilter;
}

/** Parses `sort` text into keys. Shape errors only; unknown columns are checked by checkViewQuery. */
export function parseSort(text: string | undefined, path = 'sort'): SortKey[] {
  if (text === undefined || text.trim() === '') return [];
  const issues: Issue[] = [];
  const keys: SortKey[] = [];
  text.split(',').forEach((part, i) => {
    const [column = '', dir = 'asc', ...rest] = part.trim().split(':');
    if (!column || rest.length || (dir !== 'asc' && dir !== 'desc')) issues.push({ path: `${path}.${i}`, message: `must be columnId:asc or columnId:desc, got ${JSON.stringify(part.trim())}` });
    else if (keys.some((k) => k.column === column)) issues.push({ path: `${path}.${i}`, message: `column ${column} is sorted twice` });
    else keys.push({ column, dir });
  });
  if (keys.length > 10) issues.push({ path, message: 'at most 10 sort keys' });
  if (issues.length) throw new InvalidParametersError(issues);
  return keys;
}

/** Every column condition of a filter, with its path. */
export function* filterConditions(filter: ViewFilter | undefined, path = 'filter'): Generator<{ condition: FilterCondition; path: string }> {
  if (!filter) return;
  if ('and' in filter) for (const [i, f] of filter.and.entries()) yield* filterConditions(f, `${path}.and.${i}`);
  else if ('or' in filter) for (const [i, f] of filter.or.entries()) yield* filterConditions(f, `${path}.or.${i}`);
  else yield { condition: filter, path };
}

/**
 * Checks a query against a dataset's columns: filter shape and operators, sort syntax, and that
 * every column named (filter, sort, columns) is one of `columns`. Problems are INVALID_PARAMETERS
 * naming each path, e.g. `filter.and.1.column: unknown column col_x`. Accepts the filter as
 * parsed JSON (a saved view, an export body) or not yet checked.
 */
export function checkViewQuery(query: { filter?: unknown; sort?: string | undefined; q?: string | undefined; columns?: readonly string[] | undefined }, columns: readonly QueryColumn[], paths: { filter?: string; sort?: string; columns?: string } = {}): CheckedViewQuery {
  const filterPath = paths.filter ?? 'filter';
  const filter = query.filter === undefined || query.filter === null ? undefined : parseFilter(query.filter, filterPath);
  const sort = parseSort(query.sort, paths.sort ?? 'sort');
  const known = new Set(columns.map((c) => c.id));
  const issues: Issue[] = [];
  for (const { condition, path } of filterConditions(filter, filterPath)) {
    const column = (condition as { column?: string }).column;
    if (column !== undefined && !known.has(column)) issues.push({ path: `${path}.column`, message: `unknown column ${column}` });
  }
  sort.forEach((k, i) => {
    if (!known.has(k.column)) issues.push({ path: `${paths.sort ?? 'sort'}.${i}`, message: `unknown column ${k.column}` });
  });
  query.columns?.forEach((c, i) => {
    if (!known.has(c)) issues.push({ path: `${paths.columns ?? 'columns'}.${i}`, message: `unknown column ${c}` });
  });
  if (issues.length) throw new InvalidParametersError(issues);
  return { filter, sort, ...(query.q !== undefined && query.q.trim() !== '' ? { q: query.q } : {}), ...(query.columns ? { columns: [...query.columns] } : {}) };
}

/** The query parameters `GET /data` adds (the seed's page, limit, columns, includeMetadata stay). */
export const ViewQueryParams = {
  filter: z.string().max(8000).optional().openapi({ param: { name: 'filter', in: 'query' }, description: 'a ViewFilter as URL-encoded JSON', example: '{"and":[{"column":"col_0a1b2c3d4e5f6g","op":"eq","value":"Lyon"}]}' }),
  sort: ViewSort.optional().openapi({ param: { name: 'sort', in: 'query' } }),
  q: ViewQ.optional().openapi({ param: { name: 'q', in: 'query' } }),
  cursor: z.string().max(4000).optional().openapi({ param: { name: 'cursor', in: 'query' }, description: 'pagination.nextCursor of the previous page: keyset paging, stable while rows are written (page is then ignored)' }),
};
