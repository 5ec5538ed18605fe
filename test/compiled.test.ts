import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY } from './helpers/app.ts';
import { textPdf, waitForDatasource } from './helpers/documents.ts';

/**
 * The compiled runtime (what `npm start` and the `cellwise` bin run): built from the sources with
 * the same tsconfig as `npm run build:server`, into a folder of its own inside node_modules/.cache
 * (so node_modules resolves from it as from dist/), then started as a process. A document upload
 * proves that the extraction thread loads its compiled entry (no tsx in a compiled thread).
 */
describe('the compiled server', { skip: process.env.CELLWISE_TEST_BACKEND === 'postgres' ? 'backend-independent: runs on the SQLite pass' : false }, () => {
  let outDir = '';
  let dataDir = '';
  let child: ChildProcess | undefined;
  before(async () => {
    await mkdir('node_modules/.cache', { recursive: true });
    outDir = await mkdtemp(path.resolve('node_modules/.cache/cellwise-compiled-test-'));
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-compiled-'));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir, '--sourceMap', 'false'], { encoding: 'utf8' });
    assert.equal(build.status, 0, build.stdout + build.stderr);
  });
  after(async () => {
    child?.kill('SIGKILL');
    await rm(outDir, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves /health and extracts an uploaded document in its compiled thread', async () => {
    child = spawn(process.execPath, [path.join(outDir, 'src/cli/main.js'), 'serve'], {
      env: { ...process.env, PORT: '0', CELLWISE_DATA_DIR: dataDir, CELLWISE_ADMIN_KEY: ADMIN_KEY, CELLWISE_LOG_LEVEL: 'error', DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child!.once('exit', (code) => reject(new Error(`compiled server exited ${code}: ${out}`)));
    });
    assert.equal((await fetch(`${base}/health`)).status, 200);
    const get = async (p: string) => {
      const res = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      return { status: res.status, body: await res.json() };
    };
    const form = new FormData();
    form.append('file', new Blob([await textPdf([['Compiled runtime page one']])], { type: 'application/pdf' }), 'compiled.pdf');
    const created: any = await (await fetch(`${base}/api/v2/datasources/upload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: form })).json();
    const done = await waitForDatasource({ get: get as never }, created.datasourceId, 120_000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.pageCount, 1);
  });
});
