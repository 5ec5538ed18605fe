import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Config } from '../src/config.ts';
import { startServer } from '../src/main.ts';
import { startS3Server } from './fakes/s3-server.ts';
import { ADMIN_KEY, startTestApp, testBackend, type TestApp } from './helpers/app.ts';
import { textPdf, waitForDatasource } from './helpers/documents.ts';

/**
 * Two API processes of one deployment (one PostgreSQL database, each with a data folder of its
 * own, as on two machines): files written through one are read through the other, with the
 * PostgreSQL blob store (the default with DATABASE_URL) and with an S3-compatible store.
 */
const backend = testBackend();
describe('blob storage shared by API processes', { skip: backend.kind !== 'postgres' ? 'needs the PostgreSQL backend (CI runs it)' : false }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  /** API 1 (a test app) and API 2 (a second server on the same database, another data folder). */
  async function twoApis(overrides: Partial<Config>) {
    const api1 = await startTestApp(overrides);
    cleanups.push(() => api1.close());
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-api2-'));
    const running = await startServer({ ...api1.config, dataDir, port: 0 });
    cleanups.push(async () => (await running.close(), await rm(dataDir, { recursive: true, force: true })));
    const base = `http://127.0.0.1:${running.port}`;
    const api2 = {
      get: async (p: string) => {
        const res = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        return { status: res.status, body: (await res.json()) as any };
      },
      upload: async (p: string, name: string, content: Uint8Array) => {
        const form = new FormData();
        form.append('file', new Blob([content]), name);
        const res = await fetch(`${base}${p}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: form });
        return { status: res.status, body: (await res.json()) as any };
      },
      base,
    };
    return { api1, api2, running };
  }

  async function exportThroughOneDownloadThroughTwo(api1: TestApp, api2base: string) {
    const ds = (await api1.post('/api/v2/datasets', { name: 'shared', type: 'analysis', rows: [{ Name: 'Ada' }, { Name: 'Grace' }] })).body;
    const exp = await api1.post(`/api/v2/datasets/${ds.datasetId}/export`, { format: 'csv', rowCount: 10 });
    assert.equal(exp.status, 201, JSON.stringify(exp.body));
    const onTwo = new URL(exp.body.downloadUrl);
    const res = await fetch(`${api2base}${onTwo.pathname}${onTwo.search}`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Ada[\s\S]*Grace/);
  }

  async function uploadThroughTwoReadThroughOne(api1: TestApp, api2: Awaited<ReturnType<typeof twoApis>>['api2']) {
    const created = await api2.upload('/api/v2/datasources/upload', 'shared.pdf', await textPdf([['Shared storage page']]));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const done = await waitForDatasource(api1, created.body.datasourceId, 120_000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    const data = await api1.get(`/api/v2/datasources/${created.body.datasourceId}/data?page=1&limit=5`);
    assert.match(data.body.pages[0].text, /Shared storage page/);
    const link = await api1.post(`/api/v2/datasources/${created.body.datasourceId}/download`, {});
    const original = await fetch(link.body.downloadUrl);
    assert.equal(original.status, 200);
    assert.equal((await original.arrayBuffer()).byteLength, done.fileSize ?? (await textPdf([['Shared storage page']])).byteLength);
  }

  it('PostgreSQL blobs: an export made by API 1 downloads from API 2; a document uploaded to API 2 is read through API 1', async () => {
    const { api1, api2, running } = await twoApis({});
    assert.equal(running.blobs.kind, 'postgres');
    await exportThroughOneDownloadThroughTwo(api1, api2.base);
    await uploadThroughTwoReadThroughOne(api1, api2);
  });

  it('S3 blobs (s3rver): the same across the two APIs', async () => {
    const s3 = await startS3Server();
    cleanups.push(() => s3.close());
    const { api1, api2, running } = await twoApis(s3.config);
    assert.equal(running.blobs.kind, 's3');
    await exportThroughOneDownloadThroughTwo(api1, api2.base);
    await uploadThroughTwoReadThroughOne(api1, api2);
  });
});
