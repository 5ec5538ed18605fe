/**
 * Export benchmark (issue 7): 100,000 rows x 10 columns exported as CSV, JSON and XLSX through
 * the export service (store pages -> writer -> blob store), each in a fresh child process so
 * peak RSS (VmHWM) belongs to one format alone. Each is set against a floor measured in this run,
 * also in its own child: the same rows read from the store by the same page queries and written
 * by the same library (csv-stringify, JSON.stringify, exceljs' streaming writer) with no other work.
 * Each measurement runs twice; the faster run is kept.
 *
 * Run: node --import tsx bench/exports.bench.ts   (BENCH_ROWS to change the size; DATABASE_URL for PostgreSQL)
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import pg from 'pg';
import { createEventBus } from '../src/events.ts';
import { createDatasetAccess } from '../src/features/datasets/dataset-access.ts';
import { appendRows } from '../src/features/datasets/grid.ts';
import { createExportService } from '../src/features/exports/exports.service.ts';
import { PAGE_ROWS } from '../src/features/exports/pages.ts';
import { createLinkSigner } from '../src/http/signed-links.ts';
import { newId } from '../src/ids.ts';
import { createLogger } from '../src/logger.ts';
import { createLocalBlobStore } from '../src/providers/blob/local-blob-store.ts';
import { insertColumns, listColumns } from '../src/store/columns.ts';
import { insertDataset } from '../src/store/datasets.ts';
import { cellsInRange, rowsInRange } from '../src/store/rows.ts';
import { openStore, type Db } from '../src/store/store.ts';
import { insertWorkspace } from '../src/store/workspaces.ts';

type Format = 'csv' | 'json' | 'xlsx';
type Job = { kind: 'export' | 'floor'; format: Format; dataDir: string; schema?: string; workspaceId: string; datasetId: string; rows: number };
type Result = { seconds: number; peakRss: number; startRss: number; bytes: number; rows: number };

const FORMATS: Format[] = ['csv', 'json', 'xlsx'];
const TARGET_RATIO: Record<Format, number> = { csv: 1.3, json: 1.3, xlsx: 1.5 };
const RSS_TARGET_MB = 250;
const databaseUrl = process.env.DATABASE_URL;
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;

if (process.argv[2] === 'child') await child(JSON.parse(process.argv[3]!) as Job);
else await parent();

async function parent() {
  const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-exports-bench-'));
  const schema = databaseUrl ? `bench_exports_${Date.now()}` : undefined;
  try {
    console.log(`# cellwise exports benchmark: ${ROWS} rows x 10 columns, ${databaseUrl ? 'PostgreSQL' : 'SQLite'}, pages of ${PAGE_ROWS} rows`);
    const t0 = performance.now();
    const { workspaceId, datasetId } = await buildDataset(dir, schema, ROWS);
    console.log(`dataset built through the store in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    console.log('format  export s  floor s  ratio (target)   export peak RSS (at start)  floor peak RSS  file size');
    for (const format of FORMATS) {
      const job = (kind: Job['kind']): Job => ({ kind, format, dataDir: dir, ...(schema ? { schema } : {}), workspaceId, datasetId, rows: ROWS });
      const runs: Record<Job['kind'], Result[]> = { export: [], floor: [] };
      for (let i = 0; i < 2; i++) for (const kind of ['floor', 'export'] as const) runs[kind].push(await spawnChild(job(kind)));
      const best = (xs: Result[]) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const [ex, fl] = [best(runs.export), best(runs.floor)];
      if (ex.rows !== ROWS || fl.rows !== ROWS) throw new Error(`${format}: wrote ${ex.rows} rows (floor ${fl.rows}), expected ${ROWS}`);
      const ratio = ex.seconds / fl.seconds;
      const peak = Math.max(...runs.export.map((r) => r.peakRss));
      const start = Math.max(...runs.export.map((r) => r.startRss));
      const verdict = ratio <= TARGET_RATIO[format] && peak < RSS_TARGET_MB * 1048576 ? 'ok' : 'MISSED';
      console.log(
        `${format.padEnd(6)}  ${ex.seconds.toFixed(2).padStart(8)}  ${fl.seconds.toFixed(2).padStart(7)}  ${ratio.toFixed(2).padStart(5)} (<= ${TARGET_RATIO[format]})  ${verdict.padEnd(6)}  ${mb(peak).padStart(7)} (${mb(start)})${' '.repeat(6)}${mb(Math.max(...runs.floor.map((r) => r.peakRss))).padStart(14)}  ${mb(ex.bytes).padStart(9)}`,
      );
    }
    console.log(`\npeak RSS target < ${RSS_TARGET_MB} MB per export process (VmHWM of a fresh child; includes the runtime and tsx)`);
  } finally {
    if (schema && databaseUrl) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
    await rm(dir, { recursive: true, force: true });
  }
}

function rowValues(i: number): unknown[] {
  return [i, `Company ${i}`, `company${i}.example.com`, (i * 7919) % 100000, `City ${i % 500}`, `Some longer free text about row ${i}, with a comma`, i % 2 === 0, Number((i * 0.37).toFixed(2)), `contact${i}@example.com`, `2024-01-${String((i % 28) + 1).padStart(2, '0')}`];
}

async function buildDataset(dataDir: string, schema: string | undefined, rows: number) {
  const store = await openStore({ dataDir, databaseUrl, databaseSchema: schema });
  const at = new Date().toISOString();
  const workspaceId = newId('workspace');
  const datasetId = newId('dataset');
  const names = ['id', 'name', 'domain', 'employees', 'city', 'notes', 'active', 'score', 'email', 'founded'];
  const columns = names.map((name, position) => ({ id: newId('column'), datasetId, name, taskType: 'raw', metadata: {}, dependsOn: [], position, createdAt: at, updatedAt: at }));
  await insertWorkspace(store.db, { id: workspaceId, name: 'bench', createdAt: at });
  await store.transaction(async (trx) => {
    await insertDataset(trx, { id: datasetId, workspaceId, name: 'Bench export', description: null, type: 'analysis', status: 'completed', activeTaskId: null, sourceDatasourceId: null, rowCount: rows, createdAt: at, updatedAt: at });
    await insertColumns(trx, columns);
    for (let i = 0; i < rows; i += 2000) {
      const batch = Array.from({ length: Math.min(2000, rows - i) }, (_, k) => rowValues(i + k));
      await appendRows(trx, datasetId, columns, columns, batch, i, at);
    }
  });
  await store.close();
  return { workspaceId, datasetId };
}

async function spawnChild(job: Job): Promise<Result> {
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(proc, 'exit')) as [number];
  if (code !== 0) throw new Error(`${job.kind} ${job.format} child exited ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as Result;
}

async function child(job: Job) {
  const store = await openStore({ dataDir: job.dataDir, databaseUrl, databaseSchema: job.schema });
  const outDir = await mkdtemp(path.join(job.dataDir, `${job.kind}-`));
  const startRss = await vmHwm();
  const t0 = performance.now();
  let result: { bytes: number; rows: number };
  if (job.kind === 'export') {
    const service = createExportService({
      store,
      access: createDatasetAccess({ store }),
      blobs: createLocalBlobStore(outDir),
      events: createEventBus(),
      signer: createLinkSigner('bench-secret', () => 'http://127.0.0.1'),
      logger: createLogger('error'),
    });
    const auth = { workspaceId: job.workspaceId, keyId: 'key_bench', scopes: ['write' as const] };
    const res = await service.create(auth, job.datasetId, { format: job.format, rowCount: job.rows, skip: 0, includeMetadata: false, expiresIn: 3600 });
    result = { bytes: res.sizeBytes, rows: res.rowCount };
  } else {
    result = await floor(store.db, job, path.join(outDir, `floor.${job.format}`));
  }
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  process.stdout.write(`${JSON.stringify({ seconds, peakRss: await vmHwm(), startRss, ...result })}\n`);
}

/** This process's peak resident set so far (VmHWM), in bytes. */
async function vmHwm(): Promise<number> {
  return Number(/VmHWM:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'))![1]) * 1024;
}

/** The same page reads, grouped into rows, handed straight to the library: nothing else. */
async function floor(db: Db, job: Job, file: string): Promise<{ bytes: number; rows: number }> {
  const columns = await listColumns(db, job.datasetId);
  const index = new Map(columns.map((c, i) => [c.id, i]));
  let rows = 0;
  const pages = async function* () {
    for (let from = 0; from < job.rows; from += PAGE_ROWS) {
      const ids = await rowsInRange(db, job.datasetId, from, from + PAGE_ROWS);
      const cells = await cellsInRange(db, job.datasetId, from, from + PAGE_ROWS, { metadata: false });
      const at = new Map(ids.map((r, i) => [r.id, i]));
      const values = ids.map(() => new Array<unknown>(columns.length).fill(null));
      for (const c of cells) values[at.get(c.rowId)!]![index.get(c.columnId)!] = c.value;
      rows += ids.length;
      yield { ids: ids.map((r) => r.id), values };
    }
  };
  if (job.format === 'xlsx') {
    const { default: ExcelJS } = await import('exceljs');
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useStyles: false, useSharedStrings: false });
    const sheet = wb.addWorksheet('Data');
    sheet.addRow(columns.map((c) => c.name)).commit();
    for await (const page of pages()) for (const v of page.values) sheet.addRow(v).commit();
    sheet.commit();
    await wb.commit();
  } else {
    const out = createWriteStream(file);
    const write = async (s: string) => {
      if (!out.write(s)) await once(out, 'drain');
    };
    if (job.format === 'csv') {
      await write(stringify([columns.map((c) => c.name)]));
      for await (const page of pages()) await write(stringify(page.values));
    } else {
      await write('[');
      for await (const page of pages()) await write(page.values.map((v, r) => JSON.stringify(Object.fromEntries([['rowId', page.ids[r]], ...columns.map((c, i) => [c.name, v[i]])]))).join(',\n'));
      await write(']');
    }
    out.end();
    await once(out, 'finish');
  }
  return { bytes: (await stat(file)).size, rows };
}
