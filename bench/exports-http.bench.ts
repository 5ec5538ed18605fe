/**
 * Exports over HTTP (issue 13): what the peer harness times, POST /api/v2/datasets/{id}/export
 * {format, rowCount: 100000} then downloading its downloadUrl, for CSV and JSON, against the built
 * server (dist/, `npm run build:server` first) on 100,000 rows x 10 text columns (the harness's
 * cells, loaded once as a CSV upload). Also the latency of GET /data?page=1&limit=100 while a CSV
 * export runs, against the same read on an idle server: an export's CPU on the main thread stalls
 * every other request.
 *
 * Variants, each a fresh server on the same data, alternated round by round (ABAB):
 * - this: this checkout, export pages formatted on a thread (the default);
 * - inline: this checkout with CELLWISE_EXPORT_THREADS=0;
 * - base: another built checkout, when BASELINE_DIR names one (e.g. the commit before a change);
 * - this-2: two format threads (CELLWISE_EXPORT_THREADS=2), when THREADS2 is set.
 *
 * Besides wall times, the server's CPU time per export (all its threads, and its main thread
 * alone, from /proc): on a shared machine those move less than wall times do.
 *
 * Run: npm run build:server && BASELINE_DIR=/path/to/built/checkout npm run bench -- exports-http
 * Knobs: ROWS=100000 ROUNDS=3 REPEATS=5 VARIANTS=base,this (a subset) SERVER_NODE_ARGS='--cpu-prof ...'; DATABASE_URL for PostgreSQL (a schema of its own, dropped after).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const ROWS = Number(process.env.ROWS ?? 100_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const REPEATS = Number(process.env.REPEATS ?? 5);
const KEY = 'cw_bench_admin_key_0123456789abcdef';
const databaseUrl = process.env.DATABASE_URL;
const schema = databaseUrl ? `bench_exports_http_${Date.now()}` : undefined;
const cell = (r: number, c: number) => `r${r}-c${c}-${((r * 2654435761 + c * 40503) >>> 0).toString(36)}-lorem`;
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

type Variant = { name: string; dir: string; env: Record<string, string> };
const only = process.env.VARIANTS?.split(',');
const variants = (
  [
  ...(process.env.BASELINE_DIR ? [{ name: 'base', dir: path.resolve(process.env.BASELINE_DIR), env: {} }] : []),
  { name: 'this', dir: process.cwd(), env: {} },
  { name: 'inline', dir: process.cwd(), env: { CELLWISE_EXPORT_THREADS: '0' } },
  ...(process.env.THREADS2 ? [{ name: 'this-2', dir: process.cwd(), env: { CELLWISE_EXPORT_THREADS: '2' } }] : []),
  ] as Variant[]
).filter((v) => !only || only.includes(v.name));

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cellwise-exports-http-'));
type Server = { proc: ChildProcess; base: string };

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function start(v: Variant): Promise<Server> {
  const port = await freePort();
  const proc = spawn(process.execPath, [...(process.env.SERVER_NODE_ARGS?.split(' ') ?? []), 'dist/src/cli/main.js', 'serve'], {
    cwd: v.dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...v.env, PORT: String(port), HOST: '127.0.0.1', CELLWISE_DATA_DIR: dataDir, CELLWISE_ADMIN_KEY: KEY, CELLWISE_RATE_LIMIT_PER_MINUTE: '0', CELLWISE_LOG_LEVEL: 'error', ...(schema ? { CELLWISE_DATABASE_SCHEMA: schema } : {}) },
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return { proc, base };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${v.name}: the server did not start`);
}

async function stop(s: Server) {
  s.proc.kill('SIGTERM');
  await once(s.proc, 'exit');
}

async function api(s: Server, method: string, p: string, body?: unknown): Promise<unknown> {
  const res = await fetch(s.base + p, { method, headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} -> ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

/** One export as the peer harness times it: create, then download every byte. */
async function exportOnce(s: Server, id: string, format: 'csv' | 'json'): Promise<number> {
  const t = performance.now();
  const e = (await api(s, 'POST', `/api/v2/datasets/${id}/export`, { format, rowCount: ROWS })) as { downloadUrl: string; rowCount: number };
  const res = await fetch(e.downloadUrl);
  const bytes = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t;
  if (!res.ok || e.rowCount !== ROWS || bytes.length < ROWS * 10) throw new Error(`export ${format}: ${res.status}, ${e.rowCount} rows, ${bytes.length} bytes`);
  return ms;
}

/** GET /data?page=1&limit=100 back to back while `during` runs (or `n` times): each one's latency. */
async function pageLatencies(s: Server, id: string, during?: Promise<unknown>, n = 50): Promise<number[]> {
  let done = false;
  void during?.finally(() => (done = true));
  const out: number[] = [];
  while (during ? !done : out.length < n) {
    const t = performance.now();
    await api(s, 'GET', `/api/v2/datasets/${id}/data?page=1&limit=100`);
    out.push(performance.now() - t);
  }
  return out;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => {
  const s = sorted(xs);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
/** CPU ms so far of the process (all threads) and of its main thread, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): { total: number; main: number } {
  const ticks = (file: string) => {
    const text = readFileSync(file, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  };
  return { total: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`) };
}
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

type Figures = { csv: number[]; json: number[]; idle: number[]; busy: number[]; rss: number[]; cpu: Record<'csv' | 'json', { total: number; main: number; n: number }> };

try {
  console.log(`# cellwise exports over HTTP: ${ROWS} rows x 10 text columns, ${databaseUrl ? 'PostgreSQL' : 'SQLite'}, ${ROUNDS} rounds of ${variants.map((v) => v.name).join(' / ')}, ${REPEATS} exports per format per round`);
  console.log(`load average at start: ${load()}`);
  const loader = await start(variants[variants.length - 1]!);
  const csv = ['c0,c1,c2,c3,c4,c5,c6,c7,c8,c9'];
  for (let r = 0; r < ROWS; r++) csv.push(Array.from({ length: 10 }, (_, c) => cell(r, c)).join(','));
  const form = new FormData();
  form.set('name', 'bench');
  form.set('file', new Blob([`${csv.join('\n')}\n`], { type: 'text/csv' }), 'bench.csv');
  const up = await fetch(`${loader.base}/api/v2/datasets/upload`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: form });
  const { datasetId: id } = (await up.json()) as { datasetId: string };
  if (!up.ok) throw new Error(`upload: ${up.status}`);
  await stop(loader);

  const figures = new Map<string, Figures>(variants.map((v) => [v.name, { csv: [], json: [], idle: [], busy: [], rss: [], cpu: { csv: { total: 0, main: 0, n: 0 }, json: { total: 0, main: 0, n: 0 } } }]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const v of round % 2 ? variants : [...variants].reverse()) {
      const s = await start(v);
      const f = figures.get(v.name)!;
      await exportOnce(s, id, 'csv');
      await exportOnce(s, id, 'json');
      const csvMs: number[] = [];
      const jsonMs: number[] = [];
      // Formats alternate too, so both see the same moments of a shared machine.
      const timed = async (format: 'csv' | 'json') => {
        const c0 = cpuMs(s.proc.pid!);
        const ms = await exportOnce(s, id, format);
        const c1 = cpuMs(s.proc.pid!);
        const acc = f.cpu[format];
        acc.total += c1.total - c0.total;
        acc.main += c1.main - c0.main;
        acc.n++;
        return ms;
      };
      for (let i = 0; i < REPEATS; i++) {
        csvMs.push(await timed('csv'));
        jsonMs.push(await timed('json'));
      }
      const idle = await pageLatencies(s, id);
      const busy: number[] = [];
      for (let i = 0; i < 3; i++) busy.push(...(await pageLatencies(s, id, exportOnce(s, id, 'csv'))));
      const rss = rssMb(s.proc.pid!);
      await stop(s);
      f.csv.push(...csvMs);
      f.json.push(...jsonMs);
      f.idle.push(...idle);
      f.busy.push(...busy);
      f.rss.push(rss);
      console.log(`round ${round} ${v.name.padEnd(6)} csv median ${median(csvMs).toFixed(0)} ms  json median ${median(jsonMs).toFixed(0)} ms  page-of-100 idle median ${median(idle).toFixed(1)} ms, during an export median ${median(busy).toFixed(1)} / p95 ${pct(busy, 95).toFixed(1)} / max ${Math.max(...busy).toFixed(1)} ms (${busy.length} reads)  RSS ${rss.toFixed(0)} MB  load ${load()}`);
    }
  }
  console.log(`\nvariant  csv min / median ms   json min / median ms   page of 100 while exporting: median / p95 / max ms (idle median)   RSS after MB   server CPU ms per export, all threads / main thread: csv, json`);
  const ref = figures.get('base') ?? figures.get('inline') ?? figures.get('this')!;
  for (const [name, f] of figures) {
    console.log(
      `${name.padEnd(7)}  ${Math.min(...f.csv).toFixed(0).padStart(6)} / ${median(f.csv).toFixed(0).padStart(5)}       ${Math.min(...f.json).toFixed(0).padStart(6)} / ${median(f.json).toFixed(0).padStart(5)}         ${median(f.busy).toFixed(1).padStart(6)} / ${pct(f.busy, 95).toFixed(1).padStart(6)} / ${Math.max(...f.busy).toFixed(1).padStart(6)} (${median(f.idle).toFixed(1)})${' '.repeat(22)}${median(f.rss).toFixed(0).padStart(4)}           ${(f.cpu.csv.total / f.cpu.csv.n).toFixed(0)} / ${(f.cpu.csv.main / f.cpu.csv.n).toFixed(0)}, ${(f.cpu.json.total / f.cpu.json.n).toFixed(0)} / ${(f.cpu.json.main / f.cpu.json.n).toFixed(0)}`,
    );
  }
  const mine = figures.get('this') ?? ref;
  console.log(`\nthis vs ${figures.has('base') ? 'base' : 'inline'} (median; above 1: faster): csv ${(median(ref.csv) / median(mine.csv)).toFixed(2)}x, json ${(median(ref.json) / median(mine.json)).toFixed(2)}x, page of 100 during an export ${(median(ref.busy) / median(mine.busy)).toFixed(2)}x (p95 ${(pct(ref.busy, 95) / pct(mine.busy, 95)).toFixed(2)}x)`);
  console.log(`load average at end: ${load()}`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  if (schema && databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}
