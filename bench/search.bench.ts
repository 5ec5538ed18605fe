/**
 * Search benchmark (issue 19: `q`, at most 100 ms for a word over 100,000 rows).
 *
 * In-process against the store, 100,000 rows x 10 columns (the datasets benchmark's rows):
 * 1. bulk insert of the rows into a dataset never searched (what every import pays), and the same
 *    insert into a dataset whose search index exists (what a searched dataset pays per new row);
 * 2. the index build, the first time a dataset is searched;
 * 3. searches, median of 20: the first page (50 rows in position order) and the count of matching
 *    rows, for a rare word, a word in 1 row of 500, a word in every row, two words, a 2-letter term;
 * 4. an update of 1,000 rows' cells (writeRowCells) with and without the index;
 * 5. the index's size on disk;
 * 6. the searches through store/row-query.ts, as GET /data runs them (page with its total, count,
 *    and under a filter half the rows pass), and a column's typed-values build (row-index.ts).
 *
 * Run: npm run bench -- search   (BENCH_ROWS to change the size; DATABASE_URL for PostgreSQL)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { newId } from '../src/ids.ts';
import { openStore } from '../src/store/store.ts';
import { insertColumns } from '../src/store/columns.ts';
import { insertDataset } from '../src/store/datasets.ts';
import { insertWorkspace } from '../src/store/workspaces.ts';
import { decodeRow, encodeRow, writeRowCells } from '../src/store/row-cells.ts';
import { ensureSearchIndex, searchCondition } from '../src/store/row-search.ts';
import { appendRows } from '../src/features/datasets/grid.ts';
import { countRows, queryRows } from '../src/store/row-query.ts';
import { ensureRowIndexes } from '../src/store/row-index.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const pg = Boolean(process.env.DATABASE_URL);
const dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-search-bench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

function rowValues(i: number): (string | number)[] {
  return [i, `Company ${i}`, `company${i}.example.com`, (i * 7919) % 100000, `City ${i % 500}`, `Some longer free text about row ${i}, with a comma`, i % 2 ? 'yes' : 'no', (i * 0.37).toFixed(2), `contact${i}@example.com`, `2024-01-${String((i % 28) + 1).padStart(2, '0')}`];
}
const header = ['id', 'name', 'domain', 'employees', 'city', 'notes', 'active', 'score', 'email', 'founded'];

console.log(`# cellwise search benchmark: ${ROWS} rows x ${header.length} columns, ${pg ? 'PostgreSQL' : 'SQLite'}`);
const store = await openStore({ dataDir: dir, databaseUrl: process.env.DATABASE_URL, databaseSchema: pg ? `bench_search_${Date.now()}` : undefined });
const at = new Date().toISOString();
const ws = newId('workspace');
await insertWorkspace(store.db, { id: ws, name: 'w', createdAt: at });

async function makeDataset(name: string) {
  const ds = newId('dataset');
  const columns = header.map((n, position) => ({ id: newId('column'), datasetId: ds, name: n, taskType: 'raw', metadata: {}, dependsOn: [], position, createdAt: at, updatedAt: at }));
  await store.transaction(async (trx) => {
    await insertDataset(trx, { id: ds, workspaceId: ws, name, description: null, type: 'analysis', status: 'completed', activeTaskId: null, sourceDatasourceId: null, rowCount: 0, createdAt: at, updatedAt: at });
    await insertColumns(trx, columns);
  });
  return { ds, columns };
}
/** Inserts rows [from, to) in one transaction, 2,000 per insert as imports do; seconds. */
async function insert(d: { ds: string; columns: Awaited<ReturnType<typeof makeDataset>>['columns'] }, from: number, to: number): Promise<number> {
  const values: unknown[][] = [];
  for (let i = from; i < to; i++) values.push(rowValues(i));
  const t0 = performance.now();
  await store.transaction(async (trx) => {
    for (let i = 0; i < values.length; i += 2000) await appendRows(trx, d.ds, d.columns, d.columns, values.slice(i, i + 2000), from + i, at);
  });
  return (performance.now() - t0) / 1000;
}

// 1. Bulk insert, twice, into datasets never searched: the second run is the one reported (warm).
await insert(await makeDataset('warm-up'), 0, ROWS);
const plain = await makeDataset('plain');
const insertPlain = await insert(plain, 0, ROWS);

// 2. The build, on the first search of `plain`.
const t = performance.now();
await ensureSearchIndex(store.db, plain.ds);
const buildSeconds = (performance.now() - t) / 1000;

// 1b. Insert into a searched dataset: an empty dataset whose index exists, then the same rows.
const searched = await makeDataset('searched');
await ensureSearchIndex(store.db, searched.ds);
const insertIndexed = await insert(searched, 0, ROWS);

// The filtered searches below filter on the "active" column: its typed values, built here.
const tc = performance.now();
await ensureRowIndexes(store.db, plain.ds, [plain.columns[6]!.id]);
const columnBuildSeconds = (performance.now() - tc) / 1000;
// 3. Searches on `plain`, after statistics are taken (PostgreSQL's autovacuum does it after such inserts).
if (pg) await sql`ANALYZE`.execute(store.db);
/** `?` placeholders bound to their parameters (the searchCondition contract). */
function fragment(s: { sql: string; params: unknown[] }) {
  const parts = s.sql.split('?');
  return sql<boolean>(Object.assign([...parts], { raw: [...parts] }) as unknown as TemplateStringsArray, ...s.params);
}
async function timeQuery(q: string): Promise<{ page: number; count: number; matches: number; viewPage: number; viewCount: number; viewFiltered: number }> {
  const pages: number[] = [];
  const counts: number[] = [];
  const viewPages: number[] = [];
  const viewCounts: number[] = [];
  const viewFiltered: number[] = [];
  let matches = 0;
  const columnIds = plain.columns.map((c) => c.id);
  const query = { datasetId: plain.ds, columnIds, sort: [], q, limit: 50, offset: 0 };
  // A broad filter with it: the "active" column is "yes" in half the rows.
  const filtered = { ...query, filter: { column: plain.columns[6]!.id, field: 'txt' as const, op: 'eq' as const, value: 'yes' } };
  for (let i = 0; i < 23; i++) {
    // What GET /data pays (store/row-query.ts): the page with its count, the count alone, and with a filter.
    let v = performance.now();
    await queryRows(store.db, query);
    if (i >= 3) viewPages.push(performance.now() - v);
    v = performance.now();
    await countRows(store.db, query);
    if (i >= 3) viewCounts.push(performance.now() - v);
    v = performance.now();
    await queryRows(store.db, filtered);
    if (i >= 3) viewFiltered.push(performance.now() - v);
    // The shapes of store/row-query.ts: a page in position order (limit + 1 rows), and the count.
    let s = performance.now();
    const cond = fragment(await searchCondition(store.db, plain.ds, q));
    const rows = await sql<{ id: string; cells: string }>`SELECT r.id, r.cells, r.position FROM dataset_rows r WHERE r.dataset_id = ${plain.ds} AND (${cond}) ORDER BY r.position LIMIT 51 OFFSET 0`.execute(store.db);
    if (i >= 3) pages.push(performance.now() - s);
    void rows.rows.length;
    s = performance.now();
    const cond2 = fragment(await searchCondition(store.db, plain.ds, q));
    const n = await sql<{ n: number | string }>`SELECT count(*) AS n FROM dataset_rows r WHERE r.dataset_id = ${plain.ds} AND (${cond2})`.execute(store.db);
    if (i >= 3) counts.push(performance.now() - s);
    matches = Number(n.rows[0]!.n);
  }
  return { page: median(pages), count: median(counts), matches, viewPage: median(viewPages), viewCount: median(viewCounts), viewFiltered: median(viewFiltered) };
}
const queries = [
  ['a word in one row', `contact${ROWS - 7}@`],
  ['a word in 1 row of 500', 'City 123,'.replace(',', '')],
  ['a word in every row', 'example'],
  ['two words', 'company4242 yes'],
  ['a 2-letter term', 'no'],
  ['no match', 'zanzibar'],
] as const;
const results: [string, string, Awaited<ReturnType<typeof timeQuery>>][] = [];
for (const [label, q] of queries) results.push([label, q, await timeQuery(q)]);

// 4. Updates of 1,000 rows' cells, with (searched) and without (a fresh copy never searched) the index.
async function timeUpdate(ds: string): Promise<number> {
  const times: number[] = [];
  for (let round = 0; round < 7; round++) {
    const rows = await sql<{ id: string; cells: string }>`SELECT id, cells FROM dataset_rows WHERE dataset_id = ${ds} AND position >= ${round * 1000} AND position < ${round * 1000 + 1000}`.execute(store.db);
    const changed = rows.rows.map((r) => {
      const cells = decodeRow(r.cells);
      cells[5]!.value = `Edited text ${round} of row ${r.id}`;
      return { id: r.id, cells: encodeRow(cells) };
    });
    const s = performance.now();
    await store.transaction((trx) => writeRowCells(trx, changed, new Date().toISOString()));
    if (round >= 2) times.push(performance.now() - s);
  }
  return median(times);
}
const unsearched = await makeDataset('unsearched');
await insert(unsearched, 0, Math.min(ROWS, 10_000));
const updatePlain = await timeUpdate(unsearched.ds);
const updateIndexed = await timeUpdate(plain.ds);

// 5. Disk.
let disk: string;
if (pg) {
  const r = await sql<{ table: string; index: string; trgm: string | null }>`SELECT pg_table_size('row_text') AS table, pg_indexes_size('row_text') AS index, pg_relation_size(to_regclass('row_text_trgm')) AS trgm`.execute(store.db);
  const row = r.rows[0]!;
  disk = `row_text ${mb(Number(row.table))} + indexes ${mb(Number(row.index))} (of which the trigram GIN ${mb(Number(row.trgm ?? 0))}), for ${2 * ROWS} rows`;
} else {
  const r = await sql<{ name: string; size: number }>`SELECT name, SUM(pgsize) AS size FROM dbstat WHERE name LIKE 'row_text%' OR name = 'sqlite_autoindex_row_text_1' GROUP BY name`.execute(store.db).catch(() => ({ rows: [] as { name: string; size: number }[] }));
  const total = r.rows.reduce((s, x) => s + Number(x.size), 0);
  disk = r.rows.length ? `${mb(total)} for ${2 * ROWS} rows (${r.rows.map((x) => `${x.name} ${mb(Number(x.size))}`).join(', ')})` : 'dbstat not available';
}

console.log('\n## Bulk insert (appendRows, 2,000 per insert, one transaction)');
console.log(`dataset never searched:    ${insertPlain.toFixed(2)} s for ${ROWS} rows`);
console.log(`dataset with its index:    ${insertIndexed.toFixed(2)} s (${(insertIndexed / insertPlain).toFixed(2)}x)`);
console.log('\n## Index build (the first search of a dataset)');
console.log(`build:                     ${buildSeconds.toFixed(2)} s for ${ROWS} rows`);
console.log(`a column's typed values (row-index.ts, the first filter on it): ${columnBuildSeconds.toFixed(2)} s`);
console.log('\n## Search (median of 20; target: at most 100 ms for a word)');
for (const [label, q, r] of results) console.log(`${`${label} (q=${JSON.stringify(q)}, ${r.matches} rows)`.padEnd(58)} first page ${r.page.toFixed(1)} ms, count ${r.count.toFixed(1)} ms`);
console.log('\n## The same through store/row-query.ts (what GET /data pays; median of 20)');
for (const [label, , r] of results) console.log(`${label.padEnd(26)} page with its total ${r.viewPage.toFixed(1)} ms, count alone ${r.viewCount.toFixed(1)} ms, with a filter on half the rows (page + total) ${r.viewFiltered.toFixed(1)} ms`);
console.log('\n## Update of 1,000 rows (writeRowCells, median of 5)');
console.log(`dataset never searched:    ${updatePlain.toFixed(1)} ms`);
console.log(`dataset with its index:    ${updateIndexed.toFixed(1)} ms (${(updateIndexed / updatePlain).toFixed(2)}x)`);
console.log('\n## Disk');
console.log(disk);
await store.close();
await rm(dir, { recursive: true, force: true });
