import { PostgresAdapter } from 'kysely';
import type { Db } from './store.ts';

/**
 * The `q` search of a view (issue 19): a boolean SQL expression over `r`, the `dataset_rows` row
 * being filtered, true when the row's text matches `q`.
 *
 * Contract: `sql` is an SQL boolean expression with `?` placeholders, one per element of `params`
 * in order, on both backends (the caller turns them into bound parameters; so the expression must
 * not use PostgreSQL's `?` JSON operators). It may use subqueries and any table of the store.
 *
 * This body is the simple, correct fallback: a cell's value (strings as they are, other values as
 * JSON text) contains `q`, case-insensitively (ASCII letters on SQLite's LIKE, all letters with
 * PostgreSQL's ILIKE). A LIKE over the row's whole text first skips rows that cannot match cheaply.
 * It reads every row of the dataset: a search index replaces it.
 */
export async function searchCondition(db: Db, datasetId: string, q: string): Promise<{ sql: string; params: unknown[] }> {
  void datasetId;
  const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  const like = pg ? 'ILIKE' : 'LIKE';
  const cell = pg ? `EXISTS (SELECT 1 FROM json_array_elements(r.cells::json) AS e WHERE (e.value ->> 'value') ILIKE ? ESCAPE '\\')` : `EXISTS (SELECT 1 FROM json_each(r.cells) AS e WHERE json_extract(e.value, '$.value') LIKE ? ESCAPE '\\')`;
  // The stored text escapes quotes, backslashes and control characters: then only the exact test.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what JSON escapes
  if (/["\\\u0000-\u001f]/.test(q)) return { sql: cell, params: [pattern] };
  return { sql: `(r.cells ${like} ? ESCAPE '\\' AND ${cell})`, params: [pattern, pattern] };
}
