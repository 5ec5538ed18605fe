import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startS3Server } from '../../test/fakes/s3-server.ts';
import { ADMIN_KEY, startTestApp, testBackend } from '../../test/helpers/app.ts';
import { startServer } from '../main.ts';
import { blobsCommand } from './blobs.ts';

describe('cellwise blobs migrate', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it(`moves every file from the ${testBackend().kind === 'postgres' ? 'PostgreSQL' : 'local'} store to S3; the server then reads them from S3`, async () => {
    const s3 = await startS3Server();
    cleanups.push(() => s3.close());
    const app = await startTestApp();
    let closed = false;
    cleanups.push(async () => (closed ? undefined : app.close()));
    const csv = await app.upload('/api/v2/datasources/upload', [{ name: 'people.csv', content: 'Name\nAda\nGrace\n', type: 'text/csv' }]);
    assert.equal(csv.status, 201, JSON.stringify(csv.body));
    const ds = (await app.post('/api/v2/datasets', { name: 'moved', type: 'analysis', rows: [{ Name: 'Ada' }] })).body;
    const exp = (await app.post(`/api/v2/datasets/${ds.datasetId}/export`, { format: 'csv', rowCount: 10 })).body;
    await app.running.close();

    const lines: string[] = [];
    assert.equal(await blobsCommand(['migrate', '--to', 's3'], { ...app.config, ...s3.config }, (l) => lines.push(l)), 0, lines.join('\n'));
    assert.match(lines[0]!, /Copied 2 of 2 files/);

    // The same database, now on S3: every file comes from the bucket.
    const moved = await startServer({ ...app.config, ...s3.config, blobStore: 's3', port: 0 });
    cleanups.push(async () => {
      await moved.close();
      await app.close().catch(() => {});
      closed = true;
    });
    assert.equal(moved.blobs.kind, 's3');
    const base = `http://127.0.0.1:${moved.port}`;
    const link: any = await (await fetch(`${base}/api/v2/datasources/${csv.body.datasourceId}/download`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
    assert.equal(await (await fetch(link.downloadUrl.replace(/^http:\/\/[^/]+/, base))).text(), 'Name\nAda\nGrace\n');
    const exported = await fetch(exp.downloadUrl.replace(/^http:\/\/[^/]+/, base));
    assert.equal(exported.status, 200);
    assert.match(await exported.text(), /Ada/);
  });

  it('says how to use it when --to is missing or names no store', async () => {
    const lines: string[] = [];
    const app = await startTestApp();
    cleanups.push(() => app.close());
    assert.equal(await blobsCommand(['migrate'], app.config, (l) => lines.push(l)), 2);
    assert.equal(await blobsCommand(['migrate', '--to', 'ftp'], app.config, (l) => lines.push(l)), 2);
    assert.match(lines.join('\n'), /--to local\|postgres\|s3/);
  });
});
