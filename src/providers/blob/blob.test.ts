import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { freshDatabase, testBackend } from '../../../test/helpers/app.ts';
import { startS3Server } from '../../../test/fakes/s3-server.ts';
import { openStore, type Store } from '../../store/store.ts';
import { blobStoreContract } from './blob.contract.ts';
import { createLocalBlobStore } from './local-blob-store.ts';
import { createPostgresBlobStore, POSTGRES_BLOB_CHUNK_BYTES } from './postgres-blob-store.ts';
import { createS3BlobStore } from './s3-blob-store.ts';

const backend = testBackend();

describe('blob stores', () => {
  let dir = '';
  let pg: { store: Store; drop(): Promise<void> } | undefined;
  let s3: Awaited<ReturnType<typeof startS3Server>> | undefined;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-blobs-'));
    if (backend.kind === 'postgres') {
      const db = await freshDatabase();
      pg = { store: await openStore({ dataDir: db.dataDir, databaseUrl: db.databaseUrl, databaseSchema: db.databaseSchema }), drop: db.drop };
    } else {
      s3 = await startS3Server();
    }
  });
  after(async () => {
    await pg?.store.close();
    await pg?.drop();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  blobStoreContract('local filesystem', () => createLocalBlobStore(dir));
  // PostgreSQL on the PostgreSQL pass; s3rver (backend-independent) on the SQLite pass.
  blobStoreContract('PostgreSQL', () => createPostgresBlobStore(pg!.store), { skip: backend.kind !== 'postgres' ? 'needs the PostgreSQL backend' : false });
  blobStoreContract('S3 (s3rver)', () => createS3BlobStore({ ...s3!.config, endpoint: s3!.endpoint, bucket: s3!.bucket, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, partBytes: 5 * 1024 * 1024 }), { skip: backend.kind === 'postgres' ? 'runs on the SQLite pass' : false });

  it('PostgreSQL keeps a file as chunks of at most a megabyte', { skip: backend.kind !== 'postgres' ? 'needs the PostgreSQL backend' : false }, async () => {
    const blobs = createPostgresBlobStore(pg!.store);
    const size = 3 * POSTGRES_BLOB_CHUNK_BYTES + 10;
    await blobs.put('chunked/file.bin', Readable.from([Buffer.alloc(size, 7)]));
    const rows = (await sql<{ n: string; biggest: number }>`SELECT count(*) AS n, max(length(c.data)) AS biggest FROM blob_chunks c JOIN blobs b ON b.id = c.blob_id WHERE b.key = 'chunked/file.bin'`.execute(pg!.store.db)).rows[0]!;
    assert.equal(Number(rows.n), 4);
    assert.equal(Number(rows.biggest), POSTGRES_BLOB_CHUNK_BYTES);
  });
});
