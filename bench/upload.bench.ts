/**
 * CSV upload benchmark (issue 13: "a CSV upload of the same rows: at most 5 s"; PostgreSQL: an
 * import of 100,000 x 10 at least 3x faster than 18 s).
 *
 * Uploads the peer harness's CSV (100,000 rows x 10 text columns, cells like `r12-c3-<base36>-lorem`,
 * ../shared/peer/run-cellwise.mjs section 1b) through POST /api/v2/datasets/upload to a freshly
 * started built server (`node dist/src/cli/main.js serve` with the node flags of `npm start`), one upload per
 * server, and prints for each round: seconds and the server's peak RSS. Baselines measured in the
 * same run, alternated with the uploads:
 *   - drain: the same multipart body POSTed to a bare Node.js HTTP server that only reads it;
 *   - parse: csv-parse alone over the file (the options the import uses), in this process.
 *
 * Run: npm run build:server && npm run bench -- upload
 * Knobs: BENCH_ROWS (100000), BENCH_ROUNDS (3), DATABASE_URL (PostgreSQL: each upload in a fresh
 * schema), BENCH_SERVERS=dirA,dirB (built checkouts to alternate, A B A B: e.g. a build of the
 * previous commit against this one), BENCH_CPU_PROF=dir (the server runs with --cpu-prof there), BENCH_NODE_FLAGS (more flags for the server's node).
 */
import { spawn } from 'node:child_process';
import { createReadStream, openAsBlob, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import pg from 'pg';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SERVERS = (process.env.BENCH_SERVERS ?? '.').split(',').map((d) => path.resolve(d));
const DATABASE_URL = process.env.DATABASE_URL;
const CPU_PROF = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const KEY = 'cw_bench_admin_key_0123456789abcdef';
const dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-upload-bench-'));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
// Exactly the harness's cells.
const cell = (r: number, c: number) => `r${r}-c${c}-${((r * 2654435761 + c * 40503) >>> 0).toString(36)}-lorem`;

const csvPath = path.join(dir, 'bench.csv');
{
  const lines = ['c0,c1,c2,c3,c4,c5,c6,c7,c8,c9'];
  for (let r = 0; r < ROWS; r++) lines.push(Array.from({ length: 10 }, (_, c) => cell(r, c)).join(','));
  await writeFile(csvPath, `${lines.join('\n')}\n`);
}
const fileBytes = (await openAsBlob(csvPath)).size;
console.log(`# cellwise CSV upload benchmark: ${ROWS} rows x 10 text columns (${(fileBytes / 1048576).toFixed(1)} MB), ${DATABASE_URL ? 'PostgreSQL' : 'SQLite'}, ${ROUNDS} rounds`);
console.log(`# servers: ${SERVERS.join(', ')}; load average at start: ${load()}`);

async function form() {
  const f = new FormData();
  f.set('name', 'bench-csv');
  f.set('file', await openAsBlob(csvPath, { type: 'text/csv' }), 'bench.csv');
  return f;
}

function waitForPort(child: ReturnType<typeof spawn>, pattern: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = pattern.exec(seen);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${seen.slice(-500)}`)));
  });
}

const stopped = (child: ReturnType<typeof spawn>) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
/** CPU seconds (user + system) the process has used: steadier than wall time on a shared machine. */
const cpuSeconds = async (pid: number) => {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const peakRss = async (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** The node flags of the checkout's `npm start` (`node <flags> dist/src/cli/main.js serve`): the server runs as the harness runs it. */
function startFlags(serverDir: string): string[] {
  const start = (JSON.parse(readFileSync(path.join(serverDir, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const m = /^node (.*?) ?dist\/src\/cli\/main\.js serve$/.exec(start);
  if (!m) throw new Error(`unexpected start script: ${start}`);
  return m[1]!.split(' ').filter(Boolean);
}

let run = 0;
async function upload(serverDir: string): Promise<{ seconds: number; cpu: number; peakMb: number; idleMb: number; rssMb: number }> {
  run++;
  const dataDir = path.join(dir, `data-${run}`);
  const schema = DATABASE_URL ? `bench_upload_${Date.now()}_${run}` : undefined;
  const child = spawn(process.execPath, [...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []), ...NODE_FLAGS, ...startFlags(serverDir), 'dist/src/cli/main.js', 'serve'], {
    cwd: serverDir,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', CELLWISE_DATA_DIR: dataDir, CELLWISE_ADMIN_KEY: KEY, CELLWISE_RATE_LIMIT_PER_MINUTE: '0', CELLWISE_LOG_LEVEL: 'warn', ...(schema ? { CELLWISE_DATABASE_SCHEMA: schema } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (process.env.BENCH_SERVER_STDOUT) child.stdout!.on('data', (d: Buffer) => process.stderr.write(d));
  try {
    const port = await waitForPort(child, /listening on http:\/\/[^:]+:(\d+)/);
    const base = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${KEY}` };
    const idleMb = await peakRss(child.pid!);
    const body = await form();
    const cpu0 = await cpuSeconds(child.pid!);
    const t0 = performance.now();
    const res = await fetch(`${base}/api/v2/datasets/upload`, { method: 'POST', headers, body });
    const text = await res.text();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = (await cpuSeconds(child.pid!)) - cpu0;
    if (res.status !== 201) throw new Error(`upload -> ${res.status} ${text.slice(0, 300)}`);
    const peakMb = await peakRss(child.pid!);
    const rssMb = Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
    // The dataset is what the upload promised: every row, text columns, the harness's values.
    const created = JSON.parse(text) as { datasetId: string; rowCount: number; columns: { dataType: string }[] };
    if (created.rowCount !== ROWS || created.columns.some((c) => c.dataType !== 'text')) throw new Error(`wrong dataset: ${text.slice(0, 300)}`);
    const last = (await (await fetch(`${base}/api/v2/datasets/${created.datasetId}/data?limit=1&page=${ROWS}`, { headers })).json()) as { data: { value: unknown; status: string }[][] };
    if (last.data[0]![9]!.value !== cell(ROWS - 1, 9) || last.data[0]![9]!.status !== 'done') throw new Error(`wrong last row: ${JSON.stringify(last.data[0]?.[9])}`);
    return { seconds, cpu, peakMb, idleMb, rssMb };
  } finally {
    child.kill('SIGTERM');
    await stopped(child);
    if (schema) {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The same multipart body to a bare server that reads it and answers. */
async function drain(): Promise<number> {
  const code = `require('node:http').createServer((q, s) => { q.on('data', () => {}); q.on('end', () => { s.writeHead(201); s.end('{}'); }); }).listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port); });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await waitForPort(child, /port (\d+)/);
    const body = await form();
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body });
    await res.text();
    return (performance.now() - t0) / 1000;
  } finally {
    child.kill('SIGTERM');
    await stopped(child);
  }
}

/** csv-parse alone over the file, with the options the import uses. */
async function parseOnly(): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  const parser = parse({ delimiter: ',', record_delimiter: ['\r\n', '\n', '\r'], relax_column_count: true, skip_empty_lines: true });
  await pipeline(createReadStream(csvPath, { encoding: 'utf8', highWaterMark: 64 * 1024 }), parser, async (records: AsyncIterable<string[]>) => {
    for await (const _ of records) n++;
  });
  if (n !== ROWS + 1) throw new Error(`parsed ${n} records`);
  return (performance.now() - t0) / 1000;
}

const results = new Map<string, { seconds: number[]; cpu: number[]; peakMb: number[]; idleMb: number[] }>(SERVERS.map((s) => [s, { seconds: [], cpu: [], peakMb: [], idleMb: [] }]));
const drains: number[] = [];
const parses: number[] = [];
console.log('\nround  what                                  seconds  peak RSS, server CPU (user + system)');
for (let round = 1; round <= ROUNDS; round++) {
  drains.push(await drain());
  console.log(`${String(round).padEnd(6)} drain (bare server reads the body)    ${drains.at(-1)!.toFixed(2).padStart(7)}`);
  parses.push(await parseOnly());
  console.log(`${String(round).padEnd(6)} csv-parse alone                       ${parses.at(-1)!.toFixed(2).padStart(7)}`);
  // A B A B: the order flips every round so neither side always runs first.
  for (const s of round % 2 ? SERVERS : [...SERVERS].reverse()) {
    const r = await upload(s);
    const acc = results.get(s)!;
    acc.seconds.push(r.seconds);
    acc.cpu.push(r.cpu);
    acc.peakMb.push(r.peakMb);
    acc.idleMb.push(r.idleMb);
    console.log(`${String(round).padEnd(6)} upload ${path.basename(s).slice(0, 30).padEnd(30)} ${r.seconds.toFixed(2).padStart(7)}  ${r.peakMb.toFixed(0)} MB (idle ${r.idleMb.toFixed(0)} MB, after ${r.rssMb.toFixed(0)} MB), server CPU ${r.cpu.toFixed(2)} s`);
  }
}
console.log(`\n## Summary (${ROUNDS} rounds; min / median)`);
console.log(`drain:     ${Math.min(...drains).toFixed(2)} / ${median(drains).toFixed(2)} s`);
console.log(`csv-parse: ${Math.min(...parses).toFixed(2)} / ${median(parses).toFixed(2)} s`);
for (const [s, r] of results) {
  console.log(`upload ${s}: ${Math.min(...r.seconds).toFixed(2)} / ${median(r.seconds).toFixed(2)} s (${Math.round(ROWS / median(r.seconds))} rows/s, ${(median(r.seconds) / median(parses)).toFixed(1)}x csv-parse), server CPU ${Math.min(...r.cpu).toFixed(2)} / ${median(r.cpu).toFixed(2)} s, peak RSS ${median(r.peakMb).toFixed(0)} MB (max ${Math.max(...r.peakMb).toFixed(0)} MB, idle ${median(r.idleMb).toFixed(0)} MB)`);
}
if (SERVERS.length === 2) {
  const [a, b] = SERVERS.map((s) => median(results.get(s)!.seconds));
  console.log(`ratio ${path.basename(SERVERS[0]!)} / ${path.basename(SERVERS[1]!)}: ${(a! / b!).toFixed(2)}x`);
}
console.log(`load average at end: ${load()}`);
await rm(dir, { recursive: true, force: true });
