/**
 * The multi-node soak (issue 14): 2 API processes (CELLWISE_WORKERS=none) and 2 `cellwise worker`
 * processes on one PostgreSQL schema, a client spreading its requests across both APIs, N
 * ai_enrich cells against the fake LLM, and every `killEveryMs` one process (API 1, worker 1,
 * API 2, worker 2, ...) killed with SIGKILL and started again. A kill window runs from the kill
 * until the new process is up. Used by bench/soak.bench.ts (full size) and test/soak.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { startFakeOpenAI } from '../../test/fakes/openai-server.ts';
import { ADMIN_KEY, freshDatabase } from '../../test/helpers/app.ts';
import { CLI_ARGS } from '../../test/helpers/cli.ts';
import { textPdf } from '../../test/helpers/documents.ts';

export type SoakOptions = { cells: number; latencyMs: number; killEveryMs: number; workerConcurrency: number; log?: (line: string) => void };
type Node = { name: string; kind: 'api' | 'worker'; child?: ChildProcess; url?: string };

export async function runSoak(o: SoakOptions) {
  const log = o.log ?? (() => {});
  const db = await freshDatabase();
  if (!db.databaseUrl) throw new Error('the soak needs PostgreSQL');
  const fake = await startFakeOpenAI({ latencyMs: o.latencyMs });
  const env = {
    ...process.env,
    DATABASE_URL: db.databaseUrl,
    CELLWISE_DATABASE_SCHEMA: db.databaseSchema!,
    CELLWISE_ADMIN_KEY: ADMIN_KEY,
    OPENAI_BASE_URL: fake.baseUrl,
    CELLWISE_LOG_LEVEL: 'error',
    CELLWISE_RATE_LIMIT_PER_MINUTE: '0',
    CELLWISE_TASK_LEASE_MS: '2000',
    CELLWISE_LLM_CONCURRENCY: String(o.workerConcurrency * 2),
    CELLWISE_WORKER_CONCURRENCY: String(o.workerConcurrency),
    PORT: '0',
  };
  const nodes: Node[] = [
    { name: 'api1', kind: 'api' },
    { name: 'worker1', kind: 'worker' },
    { name: 'api2', kind: 'api' },
    { name: 'worker2', kind: 'worker' },
  ];
  const start = (n: Node) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [...CLI_ARGS, n.kind === 'api' ? 'serve' : 'worker'], { env: { ...env, CELLWISE_DATA_DIR: `${db.dataDir}/${n.name}`, ...(n.kind === 'api' ? { CELLWISE_WORKERS: 'none' } : {}) }, stdio: ['ignore', 'pipe', 'inherit'] });
      n.child = child;
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          n.url = m[1]!;
          resolve();
        } else if (out.includes('processing tasks')) resolve();
      });
      child.once('exit', (code, signal) => reject(new Error(`${n.name} exited (${code ?? signal}) before it was up: ${out}`)));
    });
  const apis = nodes.filter((n) => n.kind === 'api');
  const windows: { node: string; from: number; to: number }[] = [];
  const inWindow = (t: number) => windows.some((w) => t >= w.from - 100 && t <= (w.to || Infinity) + 100);
  const failures: { at: number; status: number | string; path: string }[] = [];
  let turn = 0;
  const request = async (method: string, path: string, body?: unknown, only?: Node) => {
    const api = only ?? apis[turn++ % apis.length]!;
    const at = Date.now();
    try {
      const res = await fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      if (res.status >= 500) failures.push({ at, status: res.status, path });
      return { status: res.status, body: (await res.json()) as any };
    } catch (err) {
      failures.push({ at, status: (err as { cause?: { code?: string } }).cause?.code ?? 'network error', path });
      return undefined;
    }
  };

  // A stopped soak (Ctrl-C, a failed assertion's process exit) leaves no process behind.
  const killAll = () => nodes.forEach((n) => n.child?.kill('SIGKILL'));
  process.once('exit', killAll);
  const started = performance.now();
  try {
    await Promise.all(nodes.map(start));
    const rows = Array.from({ length: o.cells }, (_, i) => ({ Name: `soak row ${i}` }));
    const expect = (res: { status: number; body: any } | undefined, status: number) => {
      if (res?.status !== status) throw new Error(`soak set-up failed: ${res?.status} ${JSON.stringify(res?.body)}`);
      return res.body;
    };
    // At most 10,000 rows per request.
    const ds = expect(await request('POST', '/api/v2/datasets', { name: 'soak', type: 'analysis', rows: rows.slice(0, 10_000), columns: [{ name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Name}}' } }] }, apis[0]), 201);
    for (let at = 10_000; at < rows.length; at += 10_000) expect(await request('POST', `/api/v2/datasets/${ds.datasetId}/rows`, { rows: rows.slice(at, at + 10_000) }, apis[0]), 201);
    const task = expect(await request('POST', `/api/v2/datasets/${ds.datasetId}/tasks/bulk`, {}, apis[0]), 202);
    log(`soak: ${o.cells} cells queued (${ds.datasetId}, ${task.taskId})`);

    let done = false;
    let kills = 0;
    const workerKills: number[] = [];
    const killer = (async () => {
      for (let i = 0; !done; i++) {
        await new Promise((r) => setTimeout(r, o.killEveryMs));
        if (done) break;
        const n = nodes[i % nodes.length]!;
        const w = { node: n.name, from: Date.now(), to: 0 };
        windows.push(w);
        n.child!.removeAllListeners('exit');
        const exited = new Promise((r) => n.child!.once('exit', r));
        n.child!.kill('SIGKILL');
        await exited;
        kills++;
        if (n.kind === 'worker') workerKills.push(fake.count);
        await start(n);
        w.to = Date.now();
        log(`soak: killed and restarted ${n.name} (${w.to - w.from} ms down)`);
      }
    })();

    // The client: task status and data pages, spread across both APIs, until the task ends.
    let status: any;
    for (const until = Date.now() + Math.max(300_000, o.cells * 100); ; ) {
      if (Date.now() > until) throw new Error(`soak: task still ${status?.status} (${JSON.stringify(status?.progress)})`);
      status = (await request('GET', `/api/v2/datasets/${ds.datasetId}/tasks/${task.taskId}`))?.body ?? status;
      await request('GET', `/api/v2/datasets/${ds.datasetId}/data?page=${1 + (turn % Math.ceil(o.cells / 100))}&limit=100`);
      if (status && ['completed', 'failed', 'cancelled'].includes(status.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    done = true;
    await killer;
    const seconds = (performance.now() - started) / 1000;

    // Every cell is done, read back through the APIs.
    let doneCells = 0;
    for (let page = 1; page <= Math.ceil(o.cells / 1000); page++) {
      const data = (await request('GET', `/api/v2/datasets/${ds.datasetId}/data?page=${page}&limit=1000&includeMetadata=true`))!.body;
      doneCells += data.data.filter((r: any[]) => r[1].status === 'done' && typeof r[1].value === 'string').length;
    }
    const asked = new Map<string, number>();
    for (const r of fake.requests) {
      const k = JSON.stringify(r.body.messages?.at(-1));
      asked.set(k, (asked.get(k) ?? 0) + 1);
    }
    const repeated = [...asked.values()].reduce((sum, n) => sum + (n - 1), 0);
    // Files across the APIs, once the kills are over.
    const exp = (await request('POST', `/api/v2/datasets/${ds.datasetId}/export`, { format: 'csv', rowCount: 10 }, apis[0]))!.body;
    const link = new URL(exp.downloadUrl);
    const exportDownload = await fetch(`${apis[1]!.url}${link.pathname}${link.search}`);
    const exportOk = exportDownload.status === 200 && /soak row/.test(await exportDownload.text());
    const form = new FormData();
    form.append('file', new Blob([await textPdf([['Soak document across nodes']])]), 'soak.pdf');
    const uploaded = (await (await fetch(`${apis[1]!.url}/api/v2/datasources/upload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: form })).json()) as any;
    let doc: any;
    for (const until = Date.now() + 120_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      doc = (await request('GET', `/api/v2/datasources/${uploaded.datasourceId}`, undefined, apis[0]))?.body;
      if (doc?.status !== 'processing') break;
    }
    const docText = (await request('GET', `/api/v2/datasources/${uploaded.datasourceId}/data?page=1&limit=5`, undefined, apis[0]))?.body;
    const documentOk = doc?.status === 'completed' && /Soak document across nodes/.test(docText?.pages?.[0]?.text ?? '');

    return {
      seconds,
      task: status,
      doneCells,
      distinctPrompts: asked.size,
      llmCalls: fake.count,
      repeated,
      kills,
      workerKills: workerKills.length,
      windows,
      failuresOutside: failures.filter((f) => !inWindow(f.at)),
      failuresInside: failures.filter((f) => inWindow(f.at)),
      exportOk,
      documentOk,
    };
  } finally {
    process.off('exit', killAll);
    for (const n of nodes) {
      n.child?.removeAllListeners('exit');
      n.child?.kill('SIGKILL');
    }
    await fake.close();
    await db.drop();
  }
}
