/**
 * Views benchmark (issue 19): first pages of filtered and sorted views over 100,000 x 10 rows,
 * on SQLite and (with CELLWISE_TEST_DATABASE_URL or DATABASE_URL) on PostgreSQL, in one run.
 *
 * For each backend: a CSV upload of 100,000 rows, then GET /data?limit=50 (median of 20 after 3
 * warm-ups) for the plain page (the baseline), an equality filter on a text and on a number
 * column, a range filter, a sort, needsReview (any cell and one column), filter + sort, a deep
 * keyset page (cursor at row 50,000 of a sort) and searches (q: the index build, then a rare word,
 * a common word, two words, no match, q with a filter and a sort); then what the typed values
 * cost: the on-demand build per column, disk, and writes (1,000-row POSTs and an engine-like
 * status change of 2,000 rows) with no column indexed against three columns indexed.
 *
 * Run: npm run bench -- views   (BENCH_ROWS to change the size)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/main.ts';
import { putMetadataOnly } from '../src/store/row-cells.ts';
import { ensureRowIndexes } from '../src/store/row-index.ts';
import { setCellStatuses } from '../src/store/rows.ts';
import type { Db } from '../src/store/store.ts';
import { sql } from 'kysely';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const KEY = 'cw_bench_admin_key_0123456789abcdef';
const PG_URL = process.env.CELLWISE_TEST_DATABASE_URL ?? process.env.DATABASE_URL;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

const header = ['id', 'name', 'city', 'employees', 'score', 'active', 'founded', 'notes', 'email', 'category'];
function rowValues(i: number): (string | number)[] {
  return [i, `Company ${i}`, `City ${i % 500}`, (i * 7919) % 100000, Number(((i * 37) % 1000 / 10).toFixed(1)), i % 3 ? 'true' : 'false', `20${String(10 + (i % 15))}-0${(i % 9) + 1}-1${i % 10}`, `Some longer free text about row ${i}, with a comma`, `contact${i}@example.com`, `cat${i % 20}`];
}
const csvCell = (v: string | number) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));

const dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-views-bench-'));
const csvPath = path.join(dir, 'bench.csv');
{
  const lines = [header.join(',')];
  for (let i = 0; i < ROWS; i++) lines.push(rowValues(i).map(csvCell).join(','));
  await writeFile(csvPath, `${lines.join('\n')}\n`);
}

console.log(`# cellwise views benchmark: ${ROWS} rows x ${header.length} columns; first page = GET /data?limit=50, median of 20`);

async function diskOf(db: Db, postgres: boolean): Promise<Record<string, number>> {
  if (postgres) {
    const r = await sql<{ name: string; bytes: string }>`SELECT c.relname AS name, pg_relation_size(c.oid) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relname IN ('dataset_rows', 'dataset_rows_pkey', 'row_values', 'row_values_pkey', 'row_values_num', 'row_values_txt', 'cell_meta', 'cell_meta_needs_review', 'cell_meta_reviewed')`.execute(db);
    return Object.fromEntries(r.rows.map((x) => [x.name, Number(x.bytes)]));
  }
  const r = await sql<{ name: string; bytes: number }>`SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name`.execute(db);
  return Object.fromEntries(r.rows.map((x) => [x.name, Number(x.bytes)]));
}

async function run(backend: 'sqlite' | 'postgres') {
  const schema = backend === 'postgres' ? `views_bench_${Date.now()}` : undefined;
  const dataDir = path.join(dir, backend);
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', dataDir, adminKey: KEY, logLevel: 'error', rateLimitPerMinute: 0, ...(schema ? { databaseUrl: PG_URL!, databaseSchema: schema } : {}) });
  const server = await startServer(config);
  const base = `http://127.0.0.1:${server.port}`;
  const db = server.store.db;
  const api = async (method: string, p: string, body?: unknown) => {
    // A fresh connection each time: a kept-alive one can be closed by the server between calls seconds apart.
    const res = await fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${KEY}`, connection: 'close', ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const json = (await res.json()) as any;
    if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  };
  try {
    console.log(`\n## ${backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`);
    const form = new FormData();
    form.append('name', 'views');
    form.append('file', await openAsBlob(csvPath), 'bench.csv');
    let t = performance.now();
    const upload = await fetch(`${base}/api/v2/datasets/upload`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: form });
    const created = (await upload.json()) as { datasetId: string; rowCount: number; columns: { columnId: string; name: string; dataType: string }[] };
    if (upload.status !== 201 || created.rowCount !== ROWS) throw new Error(`upload failed: ${upload.status}`);
    console.log(`upload: ${((performance.now() - t) / 1000).toFixed(2)} s`);
    const ds = created.datasetId;
    const col = (name: string) => created.columns.find((c) => c.name === name)!.columnId;

    // 5% of the score column's cells need review; every cell of it has a confidence.
    t = performance.now();
    const rowIds: string[] = [];
    for (let page = 1; rowIds.length < ROWS; page++) {
      const r = await fetch(`${base}/api/v2/datasets/${ds}/data?limit=1000&page=${page}&columns=${col('id')}`, { headers: { authorization: `Bearer ${KEY}` } });
      rowIds.push(...((await r.json()) as { rowIds: string[] }).rowIds);
    }
    const meta = rowIds.map((rowId, i) => ({ rowId, columnId: col('score'), metadata: JSON.stringify({ confidence: (i % 100) / 100, confidenceSource: 'self_reported', needsReview: i % 20 === 7 }) }));
    for (let i = 0; i < meta.length; i += 5000) await putMetadataOnly(db, meta.slice(i, i + 5000));
    console.log(`metadata for ${ROWS} cells (5% needsReview): ${((performance.now() - t) / 1000).toFixed(2)} s`);

    const diskBefore = await diskOf(db, backend === 'postgres');

    // Writes with no column indexed.
    const postRows = async (n: number) => {
      const times: number[] = [];
      for (let k = 0; k < n; k++) {
        const rows = Array.from({ length: 1000 }, (_, i) => Object.fromEntries(header.map((h, j) => [h, rowValues(ROWS + k * 1000 + i)[j]])));
        const s = performance.now();
        await api('POST', `/api/v2/datasets/${ds}/rows`, { rows });
        times.push(performance.now() - s);
      }
      return median(times);
    };
    const statusWrite = async (status: 'stale' | 'done') => {
      const times: number[] = [];
      for (let k = 0; k < 5; k++) {
        const cells = rowIds.slice(10_000 + k * 2000, 12_000 + k * 2000).flatMap((rowId) => [{ rowId, columnId: col('name'), status }]);
        const s = performance.now();
        await setCellStatuses(db, cells, new Date().toISOString());
        times.push(performance.now() - s);
      }
      return median(times);
    };
    const insertPlain = await postRows(5);
    const statusPlain = await statusWrite('stale');

    // Build the typed values of three columns, one at a time, timed.
    const builds: string[] = [];
    for (const name of ['city', 'employees', 'score']) {
      const s = performance.now();
      await ensureRowIndexes(db, ds, [col(name)]);
      builds.push(`${name} ${((performance.now() - s) / 1000).toFixed(2)} s`);
    }
    console.log(`on-demand build of typed values (first filter or sort on a column): ${builds.join(', ')}`);
    const insertIndexed = await postRows(5);
    const statusIndexed = await statusWrite('done');
    console.log(`writes, no column indexed -> 3 columns indexed: POST 1,000 rows ${insertPlain.toFixed(1)} -> ${insertIndexed.toFixed(1)} ms; status change of 2,000 cells (engine-like) ${statusPlain.toFixed(1)} -> ${statusIndexed.toFixed(1)} ms`);

    const diskAfter = await diskOf(db, backend === 'postgres');
    const names = Object.keys(diskAfter).filter((n) => /row_values|cell_meta|dataset_rows/.test(n) && !/autoindex_dataset_rows/.test(n));
    console.log(`disk: ${names.map((n) => `${n} ${mb(diskAfter[n]!)}${diskBefore[n] !== undefined && n.startsWith('dataset_rows') ? '' : ''}`).join(', ')}`);
    const side = names.filter((n) => n.startsWith('row_values')).reduce((a, n) => a + diskAfter[n]!, 0);
    console.log(`typed values of 3 columns: ${mb(side)} (${mb(side / 3)} per column of ${ROWS + 10_000} rows)`);

    const time = async (label: string, qs: Record<string, string>, target?: number) => {
      const url = `${base}/api/v2/datasets/${ds}/data?${new URLSearchParams({ limit: '50', ...qs })}`;
      const times: number[] = [];
      let total = 0;
      for (let i = 0; i < 23; i++) {
        const s = performance.now();
        const r = await fetch(url, { headers: { authorization: `Bearer ${KEY}` } });
        const body = (await r.json()) as { rowIds: string[]; pagination: { total: number } };
        if (r.status !== 200) throw new Error(`${label}: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
        total = body.pagination.total;
        if (i >= 3) times.push(performance.now() - s);
      }
      const m = median(times);
      console.log(`${label.padEnd(52)} ${m.toFixed(2).padStart(7)} ms  (${total} rows match)${target !== undefined ? (m <= target ? `  target <= ${target} ms: met` : `  target <= ${target} ms: NOT met`) : ''}`);
      return m;
    };
    const f = (x: unknown) => JSON.stringify(x);
    await time('plain page (baseline, no view)', {});
    await time('plain page 1000 (baseline)', { page: '1000' });
    await time('eq filter, text column (city = "City 42")', { filter: f({ column: col('city'), op: 'eq', value: 'City 42' }) }, 50);
    await time('eq filter, number column (employees = 7919)', { filter: f({ column: col('employees'), op: 'eq', value: 7919 }) }, 50);
    await time('range filter (50,000 <= employees < 50,500)', { filter: f({ and: [{ column: col('employees'), op: 'gte', value: 50000 }, { column: col('employees'), op: 'lt', value: 50500 }] }) }, 50);
    await time('range filter, wide (employees > 10,000)', { filter: f({ column: col('employees'), op: 'gt', value: 10000 }) }, 50);
    await time('sort (employees:desc)', { sort: `${col('employees')}:desc` }, 50);
    await time('sort (city:asc, ties by position)', { sort: `${col('city')}:asc` }, 50);
    await time('needsReview filter (any cell)', { filter: f({ needsReview: true }) }, 50);
    await time('needsReview filter (score column)', { filter: f({ needsReview: true, column: col('score') }) }, 50);
    await time('filter + sort (city = "City 42", employees:desc)', { filter: f({ column: col('city'), op: 'eq', value: 'City 42' }), sort: `${col('employees')}:desc` }, 50);
    await time('filter + sort (score < 50, employees:asc)', { filter: f({ column: col('score'), op: 'lt', value: 50 }), sort: `${col('employees')}:asc` });
    await time('confidence < 0.1 (any cell)', { filter: f({ confidence: { lt: 0.1 } }) });
    await time('contains (city contains "ty 42")', { filter: f({ column: col('city'), op: 'contains', value: 'ty 42' }) });
    const half = Math.max(1, Math.floor(ROWS / 2000));
    const deep = await api('GET', `/api/v2/datasets/${ds}/data?limit=1000&page=${half}&columns=${col('id')}&sort=${col('employees')}:asc`);
    await time(`deep keyset page (sort, cursor at row ${half * 1000})`, { sort: `${col('employees')}:asc`, cursor: deep.pagination.nextCursor }, 50);
    // Search (store/row-search.ts): the first q on a dataset builds its search text and index.
    t = performance.now();
    await api('GET', `/api/v2/datasets/${ds}/data?limit=50&q=${encodeURIComponent('first search')}`);
    console.log(`search index build (the first q on the dataset, ${ROWS + 10_000} rows): ${((performance.now() - t) / 1000).toFixed(2)} s`);
    await time('q, a word in one row ("contact4242@")', { q: 'contact4242@' }, 100);
    await time('q, a word in 1 row of 500 ("City 123")', { q: 'City 123' }, 100);
    await time('q, two words ("company 4242")', { q: 'company 4242' }, 100);
    await time('q, a word in every row ("longer")', { q: 'longer' }, 100);
    await time('q, no match ("zanzibar")', { q: 'zanzibar' }, 100);
    await time('q + filter + sort ("company 42", employees > 10,000, city:asc)', { q: 'company 42', filter: f({ column: col('employees'), op: 'gt', value: 10000 }), sort: `${col('city')}:asc` }, 100);
  } finally {
    await server.close();
    if (schema) {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  }
}

await run('sqlite');
if (PG_URL) await run('postgres');
else console.log('\n# PostgreSQL skipped: set CELLWISE_TEST_DATABASE_URL or DATABASE_URL');
await rm(dir, { recursive: true, force: true });
