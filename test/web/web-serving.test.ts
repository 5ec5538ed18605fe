import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Hono } from 'hono';
import { registerWebApp } from '../../src/http/web-app.ts';
import { webSourceHash } from '../../src/http/web-source-hash.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

/** The server side of the web app: headers, SPA fallback, and a clear page for a missing or stale build. */
describe('web app serving', () => {
  let dir: string;
  let app: Hono;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-web-'));
    await mkdir(path.join(dir, 'src'), { recursive: true });
    await writeFile(path.join(dir, 'src', 'main.tsx'), 'console.log(1)');
    app = new Hono();
    app.get('/api/v2/thing', (c) => c.json({ ok: true }));
    registerWebApp(app, { webDir: dir });
    app.notFound((c) => c.json({ code: 'NOT_FOUND' }, 404));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function build() {
    await mkdir(path.join(dir, 'dist', 'assets'), { recursive: true });
    await writeFile(path.join(dir, 'dist', 'index.html'), '<!doctype html><div id="root"></div>');
    await writeFile(path.join(dir, 'dist', 'assets', 'app-abc.js'), 'export {}');
    await writeFile(path.join(dir, 'dist', 'build-info.json'), JSON.stringify({ sourceHash: webSourceHash(dir) }));
  }
  // The build state is cached for 2 s; each step waits for a fresh look rather than a fixed time.
  async function until(url: string, status: number) {
    for (let i = 0; i < 100; i++) {
      const res = await app.request(url);
      if (res.status === status) return res;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${url} never answered ${status}`);
  }

  it('a missing build answers a page saying what to run, with the security headers', async () => {
    const res = await app.request('/');
    assert.equal(res.status, 503);
    const text = await res.text();
    assert.match(text, /npm run build:web/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  });

  it('serves index.html for client routes, assets with their type, and leaves /api alone', async () => {
    await build();
    const res = await until('/datasets/ds_x', 200);
    assert.match(await res.text(), /id="root"/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const js = await app.request('/assets/app-abc.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /text\/javascript/);
    assert.equal((await app.request('/assets/nope.js')).status, 404);
    assert.equal((await app.request('/assets/..%2f..%2fsrc%2fmain.tsx')).status, 404);
    assert.deepEqual(await (await app.request('/api/v2/thing')).json(), { ok: true });
    for (const p of ['/api/v2/unknown', '/docs/x', '/health/x']) assert.equal((await app.request(p)).status, 404, p);
  });

  it('a build older than its sources answers the page again', async () => {
    await build();
    await until('/', 200);
    await writeFile(path.join(dir, 'src', 'main.tsx'), 'console.log(2)');
    const res = await until('/', 503);
    assert.match(await res.text(), /older than its sources[\s\S]*npm run build:web/);
  });
});

describe('the real server', () => {
  let a: TestApp;
  before(async () => (a = await startTestApp()));
  after(() => a.close());
  it('keeps the API, /docs and /health answering as before next to the app', async () => {
    assert.equal((await a.get('/health', { key: null })).body.status, 'ok');
    assert.equal((await a.get('/api/v2/openapi.json', { key: null })).status, 200);
    assert.equal((await a.get('/docs', { key: null })).status, 200);
    const unknown = await a.get('/api/v2/nothing-here');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'NOT_FOUND');
  });
  it('GET /api/v2/me names the calling key and its scopes (read keys too), and 401s without one', async () => {
    const created = await a.post('/api/v2/keys', { name: 'reader', scopes: ['read'] });
    const me = await a.get('/api/v2/me', { key: created.body.key });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, { keyId: created.body.keyId, workspaceId: me.body.workspaceId, scopes: ['read'] });
    assert.match(me.body.workspaceId, /^ws_/);
    assert.deepEqual((await a.get('/api/v2/me')).body.scopes, ['admin', 'instance'], 'the bootstrap key is an instance admin');
    assert.equal((await a.get('/api/v2/me', { key: null })).body.code, 'UNAUTHORIZED');
  });
});
