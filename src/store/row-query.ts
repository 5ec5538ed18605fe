import { sql, type RawBuilder } from 'kysely';
import { searchCondition } from './row-search.ts';
import { type Db, isPostgres, toNumber } from './store.ts';

/**
 * Filtered, sorted, keyset-paged reads of a dataset's rows (issue 19). Values come from
 * `row_values` (store/row-index.ts: the caller makes sure the columns named are indexed), cell
 * state from `cell_meta`'s derived columns and, for a status on any cell, from the row's `cells`.
 * The rows come back as stored (`cells` JSON text), for /data to splice in as it does unfiltered.
 *
 * Order: the sort keys (nulls last whatever the direction), then the row position. A page is read
 * in two parts, the rows whose first key is not null and then those whose first key is null, so
 * that each part walks one index in order (SQLite puts nulls first in an index, PostgreSQL last:
 * neither index gives "nulls last" in both directions) and stops after a page.
 */

/** Which stored form of a value a condition or a sort compares: the number or the text (row-index.ts typedValue). */
export type ValueField = 'num' | 'txt';
export type Scalar = number | string;
export type RowFilter =
  | { and: RowFilter[] }
  | { or: RowFilter[] }
  | { column: string; field: ValueField; op: 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte'; value: Scalar }
  | { column: string; field: ValueField; op: 'in'; value: Scalar[] }
  | { column: string; field: 'txt'; op: 'contains' | 'starts_with'; value: string }
  | { column: string; field: 'txt'; op: 'empty' | 'not_empty' }
  | { status: string; column?: string | undefined }
  | { needsReview: boolean; column?: string | undefined }
  | { confidence: { lt?: number | undefined; lte?: number | undefined; gt?: number | undefined; gte?: number | undefined }; column?: string | undefined }
  | { reviewed: 'approved' | 'rejected' | false; column?: string | undefined };
export type RowSortKey = { column: string; field: ValueField; dir: 'asc' | 'desc' };
/** Where the previous page ended: its last row's sort keys and position. */
export type RowCursor = { keys: (Scalar | null)[]; position: number };

export type RowQuery = {
  datasetId: string;
  /**
   * The dataset's columns: a state condition without a column holds when any of their cells
   * matches, and cell_meta rows of the dataset are found by column (it has no dataset id).
   */
  columnIds: readonly string[];
  filter?: RowFilter | undefined;
  sort: readonly RowSortKey[];
  q?: string | undefined;
  limit: number;
  /** Rows to skip (page/limit paging); ignored with `after`. */
  offset: number;
  after?: RowCursor | null | undefined;
};
export type QueriedRow = { id: string; cells: string; position: number; keys: (Scalar | null)[] };

const TRUE = sql<boolean>`1 = 1`;
const FALSE = sql<boolean>`1 = 0`;
const OPS = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

const likePattern = (text: string, prefixOnly: boolean) => `${prefixOnly ? '' : '%'}${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** `?` placeholders and parameters as a Kysely fragment (the row-search.ts contract). */
function fragment(text: string, params: readonly unknown[]): RawBuilder<boolean> {
  const parts = text.split('?');
  if (parts.length !== params.length + 1) throw new Error('searchCondition: placeholders and parameters differ in number');
  const strings = Object.assign([...parts], { raw: [...parts] }) as unknown as TemplateStringsArray;
  return sql<boolean>(strings, ...params);
}

function and(parts: RawBuilder<boolean>[]): RawBuilder<boolean> {
  const list = parts.filter((p) => p !== TRUE);
  if (!list.length) return TRUE;
  return list.length === 1 ? list[0]! : sql<boolean>`(${sql.join(list, sql` AND `)})`;
}

/** A column condition's test on a row_values row aliased `alias`. */
function valueTest(pg: boolean, f: Extract<RowFilter, { op: string }>, alias: string): RawBuilder<boolean> {
  const v = sql.ref(`${alias}.${f.field}`);
  const txt = sql.ref(`${alias}.txt`);
  switch (f.op) {
    case 'eq':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return sql`${v} ${sql.raw(OPS[f.op])} ${f.value}`;
    case 'neq':
      return sql`(${v} IS NULL OR ${v} <> ${f.value})`;
    case 'in':
      return f.value.length ? sql`${v} IN (${sql.join(f.value)})` : FALSE;
    case 'contains':
    case 'starts_with':
      // Case-insensitive: SQLite's LIKE folds ASCII letters, PostgreSQL's ILIKE every letter.
      return sql`${txt} ${sql.raw(pg ? 'ILIKE' : 'LIKE')} ${likePattern(f.value, f.op === 'starts_with')} ESCAPE '\\'`;
    case 'empty':
      return sql`(${txt} IS NULL OR ${txt} = '')`;
    case 'not_empty':
      return sql`(${txt} IS NOT NULL AND ${txt} <> '')`;
  }
}

/** Whether the filter reads the row's `cells` (a status on any cell): such a test needs the row itself. */
function readsCells(f: RowFilter): boolean {
  if ('and' in f) return f.and.some(readsCells);
  if ('or' in f) return f.or.some(readsCells);
  return 'status' in f && f.column === undefined;
}

/**
 * The filter as SQL over the row whose id is `rid`: column and state tests probe row_values and
 * cell_meta by primary key (row_id first), so a row is tested without reading it; only a status
 * on any cell reads `r.cells`.
 */
function compile(pg: boolean, f: RowFilter, columnIds: readonly string[], rid: RawBuilder<unknown>, perRow = false): RawBuilder<boolean> {
  const columnCount = columnIds.length;
  if ('and' in f) return f.and.length ? sql`(${sql.join(f.and.map((x) => compile(pg, x, columnIds, rid, perRow)), sql` AND `)})` : TRUE;
  if ('or' in f) return f.or.length ? sql`(${sql.join(f.or.map((x) => compile(pg, x, columnIds, rid, perRow)), sql` OR `)})` : FALSE;
  // perRow, PostgreSQL: OFFSET 0 keeps an EXISTS a test of each row as it is walked; otherwise the
  // planner may turn it into a join over every matching cell and sort them all.
  const each = perRow && pg ? sql` OFFSET 0` : sql``;
  if ('op' in f) return sql`EXISTS (SELECT 1 FROM row_values v WHERE v.row_id = ${rid} AND v.column_id = ${f.column} AND ${valueTest(pg, f, 'v')}${each})`;
  if ('status' in f) {
    if (f.column !== undefined) return sql`EXISTS (SELECT 1 FROM row_values v WHERE v.row_id = ${rid} AND v.column_id = ${f.column} AND v.status = ${f.status}${each})`;
    // Any cell: a LIKE over the row's text skips most rows, then the cells are read exactly (a
    // value holding the same text must not count).
    const text = `%"status":"${f.status}"%`;
    return pg
      ? sql`(r.cells LIKE ${text} AND EXISTS (SELECT 1 FROM json_array_elements(r.cells::json) AS e WHERE e.value ->> 'status' = ${f.status}))`
      : sql`(r.cells LIKE ${text} AND EXISTS (SELECT 1 FROM json_each(r.cells) AS e WHERE json_extract(e.value, '$.status') = ${f.status}))`;
  }
  // PostgreSQL, on any cell: the dataset's columns are named too, so that a probe is a primary-key
  // lookup (row, column) rather than a look through the column-led partial index it would pick.
  const listColumns = pg && !('confidence' in f);
  const onColumn = f.column !== undefined ? sql` AND m.column_id = ${f.column}` : listColumns ? sql` AND m.column_id IN (${sql.join([...columnIds])})` : sql``;
  const metaHas = (cond: RawBuilder<boolean>) => sql<boolean>`EXISTS (SELECT 1 FROM cell_meta m WHERE m.row_id = ${rid}${onColumn} AND ${cond}${each})`;
  // "Not" on any cell: some cell of the row lacks it, i.e. fewer cells have it than the row has cells.
  const someLack = (cond: RawBuilder<boolean>) =>
    f.column !== undefined ? sql<boolean>`NOT ${metaHas(cond)}` : sql<boolean>`(SELECT count(*) FROM cell_meta m WHERE m.row_id = ${rid}${onColumn} AND ${cond}) < ${columnCount}`;
  if ('needsReview' in f) return f.needsReview ? metaHas(sql`m.needs_review = 1`) : someLack(sql`m.needs_review = 1`);
  if ('confidence' in f) {
    const bounds = (Object.entries(f.confidence) as [keyof typeof OPS, number | undefined][]).filter(([, x]) => x !== undefined).map(([op, x]) => sql<boolean>`m.confidence ${sql.raw(OPS[op])} ${x}`);
    return metaHas(and([sql`m.confidence IS NOT NULL`, ...bounds]));
  }
  if (f.reviewed === false) return someLack(sql`m.review_decision IS NOT NULL`);
  return metaHas(sql`m.review_decision = ${f.reviewed}`);
}

/**
 * Where the candidate rows come from when the filter must hold one condition (the filter itself or
 * a member of its top-level `and`) that an index lists: a column's values (an index range for eq,
 * in and comparisons, else one pass over that column's values, still far less than the rows), or
 * the cells that need review or carry a review decision (partial indexes of cell_meta, across
 * datasets, so scoped by the dataset's columns). Preference: equality, then ranges, then other value tests, then state.
 */
type Driver = { rows: RawBuilder<unknown>; scoped: boolean; rest: RowFilter | undefined };
function driverOf(pg: boolean, filter: RowFilter | undefined, columnIds: readonly string[]): Driver | undefined {
  if (!filter || !columnIds.length) return undefined;
  const members = 'and' in filter ? filter.and : [filter];
  const rank = (f: RowFilter): number => {
    if ('op' in f) return f.op === 'eq' || f.op === 'in' ? 0 : f.op in OPS ? 1 : 2;
    if ('needsReview' in f && f.needsReview) return 3;
    if ('reviewed' in f && f.reviewed !== false) return 3;
    return 9;
  };
  const best = [...members].sort((a, b) => rank(a) - rank(b))[0];
  if (!best || rank(best) === 9) return undefined;
  // The members the driver tests itself; the others are tested on its rows. Comparisons on the
  // same column go together: 50 <= x < 60 is one index range.
  const used = new Set<RowFilter>([best]);
  if ('op' in best && rank(best) === 1) for (const m of members) if ('op' in m && rank(m) === 1 && m.column === best.column && m.field === best.field) used.add(m);
  const others = members.filter((m) => !used.has(m));
  const rest = others.length ? { and: others } : undefined;
  if ('op' in best) {
    const tests = [...used].map((m) => valueTest(pg, m as Extract<RowFilter, { op: string }>, 'd'));
    return { rows: sql`SELECT d.row_id AS row_id FROM row_values d WHERE d.column_id = ${best.column} AND ${and(tests)}`, scoped: true, rest };
  }
  // The dataset's cells, by column: the partial indexes lead with the column.
  const column = 'column' in best && best.column !== undefined ? best.column : undefined;
  const onColumns = column !== undefined ? sql`m.column_id = ${column}` : sql`m.column_id IN (${sql.join([...columnIds])})`;
  if ('needsReview' in best) return { rows: sql`SELECT DISTINCT m.row_id AS row_id FROM cell_meta m WHERE ${onColumns} AND m.needs_review = 1`, scoped: true, rest };
  return { rows: sql`SELECT DISTINCT m.row_id AS row_id FROM cell_meta m WHERE ${onColumns} AND m.review_decision = ${(best as { reviewed: string }).reviewed}`, scoped: true, rest };
}

/**
 * Up to `driveBelow` matching rows, a page is read from the driver's rows and sorted; above, by
 * walking the order's index and testing rows until the page is full (then at most about
 * limit x rows / matches rows are tested). Mutable for tests, which run both ways.
 */
export const queryTuning = { driveBelow: 2000 };

/**
 * `searchRows`: the ids of the rows the search matches, read from the search text alone
 * (row-search.ts), which a count uses when no index condition drives.
 */
type Plan = {
  pg: boolean;
  driver: Driver | undefined;
  search: RawBuilder<boolean> | undefined;
  searchRows: RawBuilder<unknown> | undefined;
  /** The search tested row by row, for a walk with no filter (row-search.ts `each`). */
  searchEach: RawBuilder<boolean> | undefined;
  needsRow: boolean;
};

async function planOf(db: Db, q: RowQuery): Promise<Plan> {
  const pg = isPostgres(db);
  let search: RawBuilder<boolean> | undefined;
  let searchRows: RawBuilder<unknown> | undefined;
  let searchEach: RawBuilder<boolean> | undefined;
  if (q.q !== undefined) {
    const s = await searchCondition(db, q.datasetId, q.q);
    search = sql`(${fragment(s.sql, s.params)})`;
    searchRows = fragment(s.rows.sql, s.rows.params);
    if (s.each) searchEach = sql`(${fragment(s.each.sql, s.each.params)})`;
  }
  return { pg, driver: driverOf(pg, q.filter, q.columnIds), search, searchRows, searchEach, needsRow: search !== undefined || (q.filter !== undefined && readsCells(q.filter)) };
}

/**
 * The WHERE over `r` (and the row id `rid`): in the dataset, the filter, q. `filter`: the part
 * left to test (rows coming from a driver already passed the members it tests).
 */
function matching(plan: Plan, q: RowQuery, rid: RawBuilder<unknown>, filter: RowFilter | undefined = q.filter, scoped = false, perRow = false): RawBuilder<boolean> {
  // `scoped`: the rows come from a column's values, so from this dataset. Saying it again would
  // not change the rows but can change PostgreSQL's plan (from walking the order to sorting all).
  // A walk with nothing else to test: the search row by row, when it has that form (a walk stops after a page).
  const search = perRow && !filter && plan.searchEach ? plan.searchEach : plan.search;
  return and([scoped ? TRUE : sql<boolean>`r.dataset_id = ${q.datasetId}`, filter ? compile(plan.pg, filter, q.columnIds, rid, perRow) : TRUE, search ?? TRUE]);
}

/** Rows matching the query's filter and q. */
export async function countRows(db: Db, q: RowQuery): Promise<number> {
  return count(db, q, await planOf(db, q));
}

async function count(db: Db, q: RowQuery, plan: Plan): Promise<number> {
  let r;
  const cellsRead = q.filter !== undefined && readsCells(q.filter);
  if (plan.driver && plan.driver.scoped && !cellsRead) {
    // The driver's rows are the dataset's (a column's values): counted without reading a row; a
    // search is their ids' membership in its rows (read from the search text alone).
    const rest = plan.driver.rest ? compile(plan.pg, plan.driver.rest, q.columnIds, sql.ref('x.row_id')) : TRUE;
    const searched = plan.searchRows ? sql<boolean>`x.row_id IN (${plan.searchRows})` : TRUE;
    r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM (${plan.driver.rows}) x WHERE ${and([rest, searched])}`.execute(db);
  } else if (plan.driver) {
    r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM (${plan.driver.rows}) x ${sql.raw(plan.pg ? 'JOIN' : 'CROSS JOIN')} dataset_rows r ${sql.raw(plan.pg ? 'ON r.id = x.row_id' : '')}
              WHERE ${and([...(plan.pg ? [] : [sql<boolean>`r.id = x.row_id`]), matching(plan, q, sql.ref('x.row_id'), plan.driver.rest)])}`.execute(db);
  } else if (plan.searchRows && !cellsRead) {
    // A search without a driving condition: its rows, from the search text alone (one entry per
    // row of the dataset), with the filter tested by row id. A word in every row: the rows' text
    // is read once and no row is, where a count over dataset_rows looked each row up in the
    // search's matches (a word in all 100,000 rows: SQLite 228 -> 21-53 ms, PostgreSQL 246 ->
    // 50 ms; npm run bench -- search, docs/views.md).
    const rest = q.filter ? compile(plan.pg, q.filter, q.columnIds, sql.ref('x.row_id')) : TRUE;
    r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM (${plan.searchRows}) x WHERE ${rest}`.execute(db);
  } else {
    r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM dataset_rows r WHERE ${matching(plan, q, sql.ref('r.id'))}`.execute(db);
  }
  return toNumber(r.rows[0]?.n);
}

/**
 * A page: `limit` rows after `after` (keyset) or after `offset` rows, whether more follow, and the
 * number of matching rows (counted first: it also picks how the page is read; `knownTotal` when the
 * caller counted already, as an export reading many pages of one snapshot does).
 */
export async function queryRows(db: Db, q: RowQuery, knownTotal?: number): Promise<{ rows: QueriedRow[]; more: boolean; total: number }> {
  const plan = await planOf(db, q);
  const total = knownTotal ?? (await count(db, q, plan));
  if (total === 0) return { rows: [], more: false, total };
  const want = q.limit + 1;
  const driven = plan.driver && total <= queryTuning.driveBelow ? plan.driver : undefined;
  const got = q.sort.length ? await sortedPage(db, q, plan, driven, want) : await positionPage(db, q, plan, driven, want);
  return { rows: got.slice(0, q.limit), more: got.length > q.limit, total };
}

async function positionPage(db: Db, q: RowQuery, plan: Plan, driven: Driver | undefined, want: number): Promise<QueriedRow[]> {
  const after = q.after ? sql<boolean>`r.position > ${q.after.position}` : TRUE;
  const from = driven ? sql`(${driven.rows}) x ${sql.raw(plan.pg ? 'JOIN' : 'CROSS JOIN')} dataset_rows r ${sql.raw(plan.pg ? 'ON r.id = x.row_id' : '')}` : sql`dataset_rows r`;
  const join = driven && !plan.pg ? [sql<boolean>`r.id = x.row_id`] : [];
  const rows = await sql<{ id: string; cells: string; position: number }>`SELECT r.id, r.cells, r.position FROM ${from} WHERE ${and([...join, matching(plan, q, sql.ref(driven ? 'x.row_id' : 'r.id'), driven ? driven.rest : q.filter, driven?.scoped, !driven), after])}
            ORDER BY r.position LIMIT ${want} ${q.after ? sql`` : sql`OFFSET ${q.offset}`}`.execute(db);
  return rows.rows.map((r) => ({ id: r.id, cells: r.cells, position: Number(r.position), keys: [] }));
}
/**
 * Keyset condition: the row comes after the cursor in the order of keys[from..] then position,
 * nulls last. `exprs[i]` is key i's SQL, `values[i]` the cursor's value of it.
 */
function afterKeys(keys: readonly RowSortKey[], from: number, cursor: RowCursor): RawBuilder<boolean> {
  if (from === keys.length) return sql`s0.position > ${cursor.position}`;
  const e = sql.ref(`s${from}.${keys[from]!.field}`);
  const c = cursor.keys[from];
  const rest = afterKeys(keys, from + 1, cursor);
  if (c === null || c === undefined) return sql`(${e} IS NULL AND ${rest})`;
  const beyond = keys[from]!.dir === 'asc' ? sql`${e} > ${c}` : sql`${e} < ${c}`;
  return sql`(${beyond} OR ${e} IS NULL OR (${e} = ${c} AND ${rest}))`;
}

async function sortedPage(db: Db, q: RowQuery, plan: Plan, driven: Driver | undefined, want: number): Promise<QueriedRow[]> {
  const { pg } = plan;
  const keys = q.sort;
  const first = sql.ref(`s0.${keys[0]!.field}`);
  const select = sql.join([sql`r.id`, sql`r.cells`, sql`s0.position AS position`, ...keys.map((k, i) => sql`${sql.ref(`s${i}.${k.field}`)} AS ${sql.ref(`k${i}`)}`)]);
  // Few matching rows: from the driver's rows, sorted. Many: the first key's values drive, walking
  // its index in order (SQLite's CROSS JOIN keeps the left table the outer loop) and testing each
  // row by id until the page is full.
  const cross = sql.raw(pg ? 'JOIN' : 'CROSS JOIN');
  const joins = sql.join(
    [
      ...(driven ? [sql`(${driven.rows}) x ${cross} row_values s0 ${pg ? sql`ON s0.row_id = x.row_id AND s0.column_id = ${keys[0]!.column}` : sql``}`] : [sql`row_values s0`]),
      sql`${cross} dataset_rows r ${pg ? sql`ON r.id = s0.row_id` : sql``}`,
      ...keys.slice(1).map((k, i) => sql`JOIN row_values ${sql.ref(`s${i + 1}`)} ON ${sql.ref(`s${i + 1}.row_id`)} = s0.row_id AND ${sql.ref(`s${i + 1}.column_id`)} = ${k.column}`),
    ],
    sql` `,
  );
  const restOrder = keys.slice(1).map((k, i) => sql`(${sql.ref(`s${i + 1}.${k.field}`)} IS NULL), ${sql.ref(`s${i + 1}.${k.field}`)} ${sql.raw(k.dir)}`);
  const dir0 = sql.raw(keys[0]!.dir);
  const base = and([
    sql`s0.column_id = ${keys[0]!.column}`,
    ...(pg ? [] : [sql<boolean>`r.id = s0.row_id`, ...(driven ? [sql<boolean>`s0.row_id = x.row_id`] : [])]),
    matching(plan, q, sql.ref('s0.row_id'), driven ? driven.rest : q.filter, true, !driven),
  ]);
  const read = async (part: RawBuilder<boolean>, order: RawBuilder<unknown>[], limit: number, offset: number) => {
    const rows = await sql<Record<string, unknown> & { id: string; cells: string; position: number }>`SELECT ${select} FROM ${joins} WHERE ${and([base, part])}
              ORDER BY ${sql.join([...order, sql`s0.position`])} LIMIT ${limit} OFFSET ${offset}`.execute(db);
    return rows.rows.map((r) => ({ id: r.id, cells: r.cells, position: Number(r.position), keys: keys.map((_, i) => r[`k${i}`] as Scalar | null) }));
  };

  const cursor = q.after;
  const cursorInNulls = cursor && (cursor.keys[0] === null || cursor.keys[0] === undefined);
  let out: QueriedRow[] = [];
  let skip = cursor ? 0 : q.offset;
  // Part 1: first key not null, in its direction.
  if (!cursorInNulls) {
    const c = cursor?.keys[0] as Scalar | undefined;
    const keyset = cursor ? and([keys[0]!.dir === 'asc' ? sql`${first} >= ${c}` : sql`${first} <= ${c}`, afterKeys(keys, 0, cursor)]) : TRUE;
    out = await read(and([sql`${first} IS NOT NULL`, keyset]), [sql`${first} ${dir0}`, ...restOrder], want, skip);
    if (out.length >= want) return out;
    if (skip > 0) {
      // Offset paging went past the non-null part: skip what remains of the offset in the nulls.
      const n = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${joins} WHERE ${and([base, sql`${first} IS NOT NULL`])}`.execute(db);
      skip = Math.max(0, skip - toNumber(n.rows[0]?.n));
    }
  }
  // Part 2: first key null, by the other keys.
  const keyset = cursorInNulls ? afterKeys(keys, 1, cursor) : TRUE;
  out.push(...(await read(and([sql`${first} IS NULL`, keyset]), restOrder, want - out.length, skip)));
  return out;
}
