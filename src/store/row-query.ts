import { PostgresAdapter, sql, type RawBuilder } from 'kysely';
import { searchCondition } from './row-search.ts';
import type { Db } from './store.ts';
import { toNumber } from './store.ts';

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
  /** Columns of the dataset: a state condition without a column holds when any of them matches. */
  columnCount: number;
  filter?: RowFilter | undefined;
  sort: readonly RowSortKey[];
  q?: string | undefined;
  limit: number;
  /** Rows to skip (page/limit paging); ignored with `after`. */
  offset: number;
  after?: RowCursor | null | undefined;
};
export type QueriedRow = { id: string; cells: string; position: number; keys: (Scalar | null)[] };

const isPostgres = (db: Db) => db.getExecutor().adapter instanceof PostgresAdapter;
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

function compile(db: Db, f: RowFilter, columnCount: number): RawBuilder<boolean> {
  const pg = isPostgres(db);
  if ('and' in f) return f.and.length ? sql`(${sql.join(f.and.map((x) => compile(db, x, columnCount)), sql` AND `)})` : TRUE;
  if ('or' in f) return f.or.length ? sql`(${sql.join(f.or.map((x) => compile(db, x, columnCount)), sql` OR `)})` : FALSE;
  if ('op' in f) {
    const v = sql.ref(`v.${f.field}`);
    let pred: RawBuilder<boolean>;
    switch (f.op) {
      case 'eq':
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        pred = sql`${v} ${sql.raw(OPS[f.op])} ${f.value}`;
        break;
      case 'neq':
        pred = sql`(${v} IS NULL OR ${v} <> ${f.value})`;
        break;
      case 'in':
        if (!f.value.length) return FALSE;
        pred = sql`${v} IN (${sql.join(f.value)})`;
        break;
      case 'contains':
      case 'starts_with':
        // Case-insensitive: SQLite's LIKE folds ASCII letters, PostgreSQL's ILIKE every letter.
        pred = sql`v.txt ${sql.raw(pg ? 'ILIKE' : 'LIKE')} ${likePattern(f.value, f.op === 'starts_with')} ESCAPE '\\'`;
        break;
      case 'empty':
        pred = sql`(v.txt IS NULL OR v.txt = '')`;
        break;
      case 'not_empty':
        pred = sql`(v.txt IS NOT NULL AND v.txt <> '')`;
        break;
    }
    return sql`r.id IN (SELECT v.row_id FROM row_values v WHERE v.column_id = ${f.column} AND ${pred})`;
  }
  if ('status' in f) {
    if (f.column !== undefined) return sql`r.id IN (SELECT v.row_id FROM row_values v WHERE v.column_id = ${f.column} AND v.status = ${f.status})`;
    // Any cell: a LIKE over the row's text skips most rows, then the cells are read exactly (a
    // value holding the same text must not count).
    const text = `%"status":"${f.status}"%`;
    return pg
      ? sql`(r.cells LIKE ${text} AND EXISTS (SELECT 1 FROM json_array_elements(r.cells::json) AS e WHERE e.value ->> 'status' = ${f.status}))`
      : sql`(r.cells LIKE ${text} AND EXISTS (SELECT 1 FROM json_each(r.cells) AS e WHERE json_extract(e.value, '$.status') = ${f.status}))`;
  }
  const onColumn = f.column !== undefined ? sql` AND m.column_id = ${f.column}` : sql``;
  const metaHas = (cond: RawBuilder<boolean>) => sql<boolean>`EXISTS (SELECT 1 FROM cell_meta m WHERE m.row_id = r.id${onColumn} AND ${cond})`;
  // "Not" on any cell: some cell of the row lacks it, i.e. fewer cells have it than the row has cells.
  const someLack = (cond: RawBuilder<boolean>) =>
    f.column !== undefined ? sql<boolean>`NOT ${metaHas(cond)}` : sql<boolean>`(SELECT count(*) FROM cell_meta m WHERE m.row_id = r.id AND ${cond}) < ${columnCount}`;
  if ('needsReview' in f) return f.needsReview ? metaHas(sql`m.needs_review = 1`) : someLack(sql`m.needs_review = 1`);
  if ('confidence' in f) {
    const bounds = (Object.entries(f.confidence) as [keyof typeof OPS, number | undefined][]).filter(([, x]) => x !== undefined).map(([op, x]) => sql<boolean>`m.confidence ${sql.raw(OPS[op])} ${x}`);
    return metaHas(and([sql`m.confidence IS NOT NULL`, ...bounds]));
  }
  if (f.reviewed === false) return someLack(sql`m.review_decision IS NOT NULL`);
  return metaHas(sql`m.review_decision = ${f.reviewed}`);
}

/** The rows matching the filter and q, in the dataset: the WHERE every read of a query shares. */
async function whereOf(db: Db, q: RowQuery): Promise<RawBuilder<boolean>> {
  const parts = [sql<boolean>`r.dataset_id = ${q.datasetId}`];
  if (q.filter) parts.push(compile(db, q.filter, q.columnCount));
  if (q.q !== undefined) {
    const s = await searchCondition(db, q.datasetId, q.q);
    parts.push(sql`(${fragment(s.sql, s.params)})`);
  }
  return and(parts);
}

/** Rows matching the query's filter and q. */
export async function countRows(db: Db, q: RowQuery): Promise<number> {
  const where = await whereOf(db, q);
  const r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM dataset_rows r WHERE ${where}`.execute(db);
  return toNumber(r.rows[0]?.n);
}

/**
 * A page: `limit` rows after `after` (keyset) or after `offset` rows, and whether more follow.
 * Reads limit + 1 rows to know.
 */
export async function queryRows(db: Db, q: RowQuery): Promise<{ rows: QueriedRow[]; more: boolean }> {
  const where = await whereOf(db, q);
  const want = q.limit + 1;
  const got = q.sort.length ? await sortedPage(db, q, where, want) : await positionPage(db, q, where, want);
  return { rows: got.slice(0, q.limit), more: got.length > q.limit };
}

async function positionPage(db: Db, q: RowQuery, where: RawBuilder<boolean>, want: number): Promise<QueriedRow[]> {
  const after = q.after ? sql<boolean>`r.position > ${q.after.position}` : TRUE;
  const rows = await sql<{ id: string; cells: string; position: number }>`SELECT r.id, r.cells, r.position FROM dataset_rows r WHERE ${and([where, after])}
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

async function sortedPage(db: Db, q: RowQuery, where: RawBuilder<boolean>, want: number): Promise<QueriedRow[]> {
  const pg = isPostgres(db);
  const keys = q.sort;
  const first = sql.ref(`s0.${keys[0]!.field}`);
  const select = sql.join([sql`r.id`, sql`r.cells`, sql`s0.position AS position`, ...keys.map((k, i) => sql`${sql.ref(`s${i}.${k.field}`)} AS ${sql.ref(`k${i}`)}`)]);
  // The first key's table drives: SQLite's CROSS JOIN keeps it the outer loop, walking its index in order.
  const joins = sql.join(
    keys.map((k, i) => (i === 0 ? sql`row_values s0 ${sql.raw(pg ? 'JOIN' : 'CROSS JOIN')} dataset_rows r` : sql`JOIN row_values ${sql.ref(`s${i}`)} ON ${sql.ref(`s${i}.row_id`)} = r.id AND ${sql.ref(`s${i}.column_id`)} = ${k.column}`)),
    sql` `,
  );
  const on = pg ? sql`ON r.id = s0.row_id` : sql``;
  const restOrder = keys.slice(1).map((k, i) => sql`(${sql.ref(`s${i + 1}.${k.field}`)} IS NULL), ${sql.ref(`s${i + 1}.${k.field}`)} ${sql.raw(k.dir)}`);
  const dir0 = sql.raw(keys[0]!.dir);
  const base = and([sql`s0.column_id = ${keys[0]!.column}`, ...(pg ? [] : [sql<boolean>`r.id = s0.row_id`]), where]);
  const read = async (part: RawBuilder<boolean>, order: RawBuilder<unknown>[], limit: number, offset: number) => {
    const rows = await sql<Record<string, unknown> & { id: string; cells: string; position: number }>`SELECT ${select} FROM ${joins} ${on} WHERE ${and([base, part])}
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
      const n = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${joins} ${on} WHERE ${and([base, sql`${first} IS NOT NULL`])}`.execute(db);
      skip = Math.max(0, skip - toNumber(n.rows[0]?.n));
    }
  }
  // Part 2: first key null, by the other keys.
  const keyset = cursorInNulls ? afterKeys(keys, 1, cursor) : TRUE;
  out.push(...(await read(and([sql`${first} IS NULL`, keyset]), restOrder, want - out.length, skip)));
  return out;
}
