/**
 * Import and data-page benchmarks for the core (issue: storage and datasets API).
 *
 * 1. Import: a 100,000-row x 10-column CSV through POST /datasets/upload on a real server process:
 *    seconds, rows/s, the server's peak RSS, and the ratio against a floor measured in this run
 *    (the same rows, already parsed, inserted straight into the store in one transaction).
 * 2. Data page: GET /data?limit=1000&page=50 (and with includeMetadata=true), median of 30, against
 *    the floor of reading the same rows' stored text from the store in-process; and a page of 100 rows, what the web app's grid asks for while scrolling.
 *
 * Run: npm run bench -- datasets   (BENCH_ROWS to change the size; DATABASE_URL for PostgreSQL)
 */
import { spawn } from 'node:child_process';
import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { newId } from '../src/ids.ts';
import { openStore } from '../src/store/store.ts';
import { insertColumns } from '../src/store/columns.ts';
import { insertDataset } from '../src/store/datasets.ts';
import { insertWorkspace } from '../src/store/workspaces.ts';
import { rowCellsInRange, rowsInRange } from '../src/store/rows.ts';
import { appendRows } from '../src/features/datasets/grid.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const COLS = 10;
const KEY = 'cw_bench_admin_key_0123456789abcdef';
const SCHEMA = process.env.DATABASE_URL ? `bench_${Date.now()}` : undefined;
/** The PostgreSQL schemas this run made, dropped at its end. */
const schemas: string[] = SCHEMA ? [SCHEMA] : [];
const dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-bench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;

function rowValues(i: number): (string | number)[] {
  return [i, `Company ${i}`, `company${i}.example.com`, (i * 7919) % 100000, `City ${i % 500}`, `Some longer free text about row ${i}, with a comma`, i % 2 ? 'yes' : 'no', (i * 0.37).toFixed(2), `contact${i}@example.com`, `2024-01-${String((i % 28) + 1).padStart(2, '0')}`];
}
const header = ['id', 'name', 'domain', 'employees', 'city', 'notes', 'active', 'score', 'email', 'founded'];
const csvCell = (v: string | number) => (typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));

console.log(`# cellwise datasets benchmark: ${ROWS} rows x ${COLS} columns, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'SQLite'}`);
const csvPath = path.join(dir, 'bench.csv');
{
  const lines = [header.join(',')];
  for (let i = 0; i < ROWS; i++) lines.push(rowValues(i).map(csvCell).join(','));
  await writeFile(csvPath, `${lines.join('\n')}\n`);
}

// Floor: parsed rows straight into a fresh store in one transaction.
async function floorImport(): Promise<number> {
  const floorDir = path.join(dir, `floor-${Date.now()}`);
  const schema = process.env.DATABASE_URL ? `bench_floor_${Date.now()}` : undefined;
  if (schema) schemas.push(schema);
  const store = await openStore({ dataDir: floorDir, databaseUrl: process.env.DATABASE_URL, databaseSchema: schema });
  const at = new Date().toISOString();
  const ws = newId('workspace');
  const ds = newId('dataset');
  await insertWorkspace(store.db, { id: ws, name: 'w', createdAt: at });
  const columns = header.map((name, position) => ({ id: newId('column'), datasetId: ds, name, taskType: 'raw', metadata: {}, dependsOn: [], position, createdAt: at, updatedAt: at }));
  const values: unknown[][] = [];
  for (let i = 0; i < ROWS; i++) values.push(rowValues(i).map((v) => (typeof v === 'string' && String(Number(v)) === v ? Number(v) : v)));
  const t0 = performance.now();
  await store.transaction(async (trx) => {
    await insertDataset(trx, { id: ds, workspaceId: ws, name: 'floor', description: null, type: 'analysis', status: 'completed', activeTaskId: null, sourceDatasourceId: null, rowCount: ROWS, createdAt: at, updatedAt: at });
    await insertColumns(trx, columns);
    for (let i = 0; i < values.length; i += 2000) await appendRows(trx, ds, columns, columns, values.slice(i, i + 2000), i, at);
  });
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  return seconds;
}

async function startServer(dataDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    env: { ...process.env, PORT: '0', CELLWISE_DATA_DIR: dataDir, CELLWISE_ADMIN_KEY: KEY, CELLWISE_RATE_LIMIT_PER_MINUTE: '0', CELLWISE_LOG_LEVEL: 'warn', ...(SCHEMA ? { CELLWISE_DATABASE_SCHEMA: SCHEMA } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const peakRss = async () => Number(/VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
  return { base: `http://127.0.0.1:${port}`, peakRss, stop: () => child.kill('SIGTERM') };
}

const floorSeconds = await floorImport();
const serverDir = path.join(dir, 'server');
const server = await startServer(serverDir);
const rssBefore = await server.peakRss();
const form = new FormData();
form.append('name', 'bench');
form.append('file', await openAsBlob(csvPath), 'bench.csv');
const t0 = performance.now();
const res = await fetch(`${server.base}/api/v2/datasets/upload`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: form });
const importSeconds = (performance.now() - t0) / 1000;
const created = (await res.json()) as { datasetId: string; rowCount: number };
if (res.status !== 201 || created.rowCount !== ROWS) throw new Error(`upload failed: ${res.status} ${JSON.stringify(created).slice(0, 300)}`);
const rssPeak = await server.peakRss();

console.log('\n## Import (POST /datasets/upload, CSV)');
console.log(`upload:   ${importSeconds.toFixed(2)} s, ${Math.round(ROWS / importSeconds)} rows/s, server peak RSS ${mb(rssPeak)} (at idle ${mb(rssBefore)})`);
console.log(`floor:    ${floorSeconds.toFixed(2)} s (parsed rows into the store in one transaction)`);
console.log(`ratio:    ${(importSeconds / floorSeconds).toFixed(2)} (target <= 2), peak RSS target < 300 MB`);

// Data page 50 x 1000 over HTTP vs in-process store read + JSON.stringify.
const page = Math.min(50, Math.ceil(ROWS / 1000));
async function timePage(query: string, rowsExpected: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 33; i++) {
    const t = performance.now();
    const r = await fetch(`${server.base}/api/v2/datasets/${created.datasetId}/data?${query}`, { headers: { authorization: `Bearer ${KEY}` } });
    const body = (await r.json()) as { data: unknown[] };
    if (body.data.length !== rowsExpected) throw new Error(`short page: ${query}`);
    if (i >= 3) times.push(performance.now() - t);
  }
  return median(times);
}
const httpMedian = await timePage(`limit=1000&page=${page}`, Math.min(1000, ROWS - (page - 1) * 1000));
const metaMedian = await timePage(`limit=1000&page=${page}&includeMetadata=true`, Math.min(1000, ROWS - (page - 1) * 1000));
// What a grid asks for while scrolling: 100 rows somewhere in the middle.
const smallPage = Math.max(1, Math.floor(ROWS / 200));
const small = await timePage(`limit=100&page=${smallPage}`, Math.min(100, ROWS - (smallPage - 1) * 100));
server.stop();
const store = await openStore({ dataDir: serverDir, databaseUrl: process.env.DATABASE_URL, databaseSchema: SCHEMA });
const floorTimes: number[] = [];
for (let i = 0; i < 33; i++) {
  const t = performance.now();
  const start = (page - 1) * 1000;
  const rows = await rowCellsInRange(store.db, created.datasetId, start, start + 1000);
  void `[${rows.map((r) => r.cells).join(',')}]`.length;
  if (i >= 3) floorTimes.push(performance.now() - t);
}
await store.close();
const floorMedian = median(floorTimes);
console.log(`\n## Data page (GET /data?limit=1000&page=${page}, median of 30)`);
console.log(`http:     ${httpMedian.toFixed(1)} ms (includeMetadata=true: ${metaMedian.toFixed(1)} ms)`);
console.log(`100 rows: ${small.toFixed(2)} ms (GET /data?limit=100&page=${smallPage}, what a grid asks for while scrolling; target <= 3 ms)`);
console.log(`floor:    ${floorMedian.toFixed(1)} ms (the same rows' stored text read from the store in-process, joined)`);
console.log(`ratio:    ${(httpMedian / floorMedian).toFixed(2)} (target <= 2)`);

// Paging by position against OFFSET paging at the same depth, on the same store.
{
  const s = await openStore({ dataDir: serverDir, databaseUrl: process.env.DATABASE_URL, databaseSchema: SCHEMA });
  const depth = Math.max(0, ROWS - 1000);
  const time = async (fn: () => Promise<unknown>) => {
    const xs: number[] = [];
    for (let i = 0; i < 13; i++) {
      const t = performance.now();
      await fn();
      if (i >= 3) xs.push(performance.now() - t);
    }
    return median(xs);
  };
  const byPosition = await time(() => rowsInRange(s.db, created.datasetId, depth, depth + 1000));
  const byOffset = await time(() => s.db.selectFrom('dataset_rows').select(['id', 'position']).where('dataset_id', '=', created.datasetId).orderBy('position').offset(depth).limit(1000).execute());
  console.log(`\n## Row paging at depth ${depth}: position range ${byPosition.toFixed(2)} ms, OFFSET ${byOffset.toFixed(2)} ms, OFFSET/position = ${(byOffset / byPosition).toFixed(1)}x`);
  await s.close();
}
await rm(dir, { recursive: true, force: true });
if (schemas.length) {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}
