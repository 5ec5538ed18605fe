import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY } from './helpers/app.ts';
import { rawHttp } from './helpers/raw-http.ts';
import { serverEnv, spawnServer, type ServerProcess } from './helpers/server-process.ts';

/**
 * Issue 11, item 1: a multipart body that is cut short, malformed or abandoned by its client used
 * to end the process (busboy's "Unexpected end of form" on a file stream with no listener).
 * Every such request now ends in a 400 (or a closed connection), the server stays up, and no
 * partial datasource or file is left behind.
 */
let server: ServerProcess;
let dataDir: string;
let drop: () => Promise<void>;
before(async () => {
  const { env, db } = await serverEnv();
  ({ dataDir, drop } = { dataDir: db.dataDir, drop: () => db.drop() });
  // Its own process: a crash is a dead server here, not an exception the test runner catches.
  server = await spawnServer(env);
});
after(async () => {
  server.child.kill('SIGKILL');
  await server.exited;
  await drop();
});

const call = async (method: string, p: string, body?: unknown) => {
  const r = await fetch(`${server.url}${p}`, { method, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: r.status, body: (await r.json()) as any };
};
const app = { get: (p: string) => call('GET', p), post: (p: string, b: unknown) => call('POST', p, b), get baseUrl() { return server.url; } };

const TRUNCATED = '--QQ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n';
const head = (p: string, length: number, boundary = 'QQ') => `POST ${p} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer ${ADMIN_KEY}\nContent-Type: multipart/form-data; boundary=${boundary}\nContent-Length: ${length}\nConnection: close`;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

async function assertNothingLeft(datasourcesBefore: number) {
  assert.equal(server.child.exitCode, null, `the server process is alive: ${server.output()}`);
  assert.equal((await app.get('/health')).status, 200, 'the server answers');
  assert.equal((await app.get('/api/v2/datasources?limit=100')).body.pagination.total, datasourcesBefore, 'no datasource was kept');
  // Blob writes finish their cleanup after the response; wait for the outcome, not for a time.
  const deadline = Date.now() + 10_000;
  let left = await filesUnder(path.join(dataDir, 'files'));
  while (left.length > datasourcesBefore && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = await filesUnder(path.join(dataDir, 'files'));
  }
  assert.equal(left.length, datasourcesBefore, `no partial file is left: ${left.join(', ')}`);
}

async function uploadTargets(): Promise<string[]> {
  const ds = (await app.post('/api/v2/datasets', { name: 'Docs', type: 'extraction', rows: [{ document: null }] })).body;
  const cell = (await app.get(`/api/v2/datasets/${ds.datasetId}/data`)).body.data[0][0].cellId;
  return ['/api/v2/datasources/upload', '/api/v2/datasets/upload', `/api/v2/datasets/${ds.datasetId}/cells/${cell}/upload-datasource`];
}

describe('multipart bodies that do not end well', () => {
  it('a body closed without its closing boundary is a 400 on every upload route, and the server lives', async () => {
    for (const target of await uploadTargets()) {
      const res = await rawHttp(app.baseUrl, head(target, Buffer.byteLength(TRUNCATED)), TRUNCATED);
      assert.equal(res.status, 400, `${target}: ${res.text}`);
      assert.equal(res.json.code, 'INVALID_PARAMETERS');
      assert.equal(typeof res.json.error, 'string');
      await assertNothingLeft(0);
    }
  });

  it('a client that aborts mid-file leaves the server healthy and nothing stored', async () => {
    for (const target of await uploadTargets()) {
      const part = `--QQ\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n${'a,b\n1,2\n'.repeat(20_000)}`;
      await rawHttp(app.baseUrl, head(target, part.length + 1_000_000), part, { abortAfterBody: true });
      await assertNothingLeft(0);
    }
  });

  it('a second file cut short removes the first, already stored one', async () => {
    const datasets = (await app.get('/api/v2/datasets?limit=100')).body.pagination.total;
    const body = `--QQ\r\nContent-Disposition: form-data; name="files[]"; filename="one.txt"\r\nContent-Type: text/plain\r\n\r\nfirst document\r\n--QQ\r\nContent-Disposition: form-data; name="files[]"; filename="two.txt"\r\nContent-Type: text/plain\r\n\r\nsecond, never ends`;
    const res = await rawHttp(app.baseUrl, head('/api/v2/datasets/upload', body.length), body);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json.code, 'INVALID_PARAMETERS');
    await assertNothingLeft(0);
    assert.equal((await app.get('/api/v2/datasets?limit=100')).body.pagination.total, datasets, 'no dataset was made');
  });

  it('garbage, a header block without its end, and a wrong boundary are 400s', async () => {
    const bodies = ['this is not multipart at all', '--QQ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n', '--QQ\r\n\r\n--QQ--\r\n', '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na\n--XX--\r\n'];
    for (const body of bodies) {
      const res = await rawHttp(app.baseUrl, head('/api/v2/datasources/upload', body.length), body);
      assert.ok(res.status === 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.equal(typeof res.json.code, 'string');
    }
    await assertNothingLeft(0);
  });
});
