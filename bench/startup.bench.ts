/**
 * Start-up and idle memory (issue 14): the compiled server (`node dist/src/cli/main.js serve`, what
 * `npm start` runs) against the TypeScript sources through tsx (what `npm start` ran before).
 * Each run: start on a free port with a fresh data folder, time until GET /health answers, wait
 * 3 s idle, then read the resident memory of the server process and of its whole process tree.
 *
 * Usage: npm run build && npm run bench -- startup   (BENCH_STARTUP_RUNS=5)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';

const runs = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
const commands: Record<string, string[]> = {
  compiled: [process.execPath, 'dist/src/cli/main.js', 'serve'],
  'tsx (before)': [path.resolve('node_modules/.bin/tsx'), 'src/cli/main.ts', 'serve'],
};

const freePort = () => new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as net.AddressInfo;
    s.close(() => resolve(port));
  });
});
const rssKb = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1] ?? 0);
/** The pid and every descendant (tsx runs node as a child). */
async function tree(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const d of (await readdir('/proc')).filter((x) => /^\d+$/.test(x))) {
    const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.split(') ')[1]?.split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const [name, [cmd, ...args]] of Object.entries(commands)) {
  const starts: number[] = [];
  const serverRss: number[] = [];
  const treeRss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-startup-'));
    const port = await freePort();
    const started = performance.now();
    const child = spawn(cmd!, args, { env: { ...process.env, PORT: String(port), CELLWISE_DATA_DIR: dataDir, CELLWISE_ADMIN_KEY: 'cw_bench_admin_key_0123456789', CELLWISE_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    starts.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 3000));
    const pids = await tree(child.pid!);
    const sizes = await Promise.all(pids.map(rssKb));
    serverRss.push(Math.max(...sizes) / 1024);
    treeRss.push(sizes.reduce((a, b) => a + b, 0) / 1024);
    await new Promise<void>((resolve) => (child.once('exit', () => resolve()), pids.reverse().forEach((p) => { try { process.kill(p, 'SIGTERM'); } catch { /* gone */ } })));
    await rm(dataDir, { recursive: true, force: true });
  }
  const f = (xs: number[], unit: string, digits = 0) => `median ${median(xs).toFixed(digits)} ${unit} (min ${Math.min(...xs).toFixed(digits)}, max ${Math.max(...xs).toFixed(digits)})`;
  console.log(`startup ${name}: start to /health ${f(starts, 'ms')}; idle RSS of the server process ${f(serverRss, 'MB')}; of its process tree ${f(treeRss, 'MB')} (${runs} runs, ${os.cpus().length} cores, load average ${(os.loadavg()[0] ?? 0).toFixed(1)} at the end)`);
}
