import { randomBytes } from 'node:crypto';
import type { Db, Store } from './store.ts';

/**
 * Blob storage in PostgreSQL (providers/blob/postgres-blob-store.ts): a file is a `blobs` row and
 * its bytes `blob_chunks` rows of up to a megabyte each, written and read one chunk at a time so
 * that no file is ever held whole in memory. A new version of a key is written beside the old one
 * and becomes the key's content in one transaction at the end, so readers never see half a file.
 */
export async function beginBlob(db: Db, key: string): Promise<string> {
  const id = randomBytes(12).toString('hex');
  await db.insertInto('blobs').values({ id, key, size: 0, complete: false, created_at: new Date().toISOString() }).execute();
  return id;
}

export async function addBlobChunk(db: Db, id: string, seq: number, data: Uint8Array): Promise<void> {
  await db.insertInto('blob_chunks').values({ blob_id: id, seq, data }).execute();
}

/** Makes version `id` the content of its key, dropping every other version. */
export async function commitBlob(store: Store, id: string, key: string, size: number): Promise<void> {
  await store.transaction(async (trx) => {
    await trx.deleteFrom('blobs').where('key', '=', key).where('id', '<>', id).execute();
    await trx.updateTable('blobs').set({ complete: true, size }).where('id', '=', id).execute();
  });
}

/** Drops a version that did not complete (its chunks go with it). */
export async function dropBlobVersion(db: Db, id: string): Promise<void> {
  await db.deleteFrom('blobs').where('id', '=', id).execute();
}

export async function findBlob(db: Db, key: string): Promise<{ id: string; size: number } | undefined> {
  const row = await db.selectFrom('blobs').select(['id', 'size']).where('key', '=', key).where('complete', '=', true).orderBy('created_at', 'desc').executeTakeFirst();
  return row && { id: row.id, size: Number(row.size) };
}

export async function readBlobChunk(db: Db, id: string, seq: number): Promise<Uint8Array | undefined> {
  return (await db.selectFrom('blob_chunks').select('data').where('blob_id', '=', id).where('seq', '=', seq).executeTakeFirst())?.data;
}

export async function deleteBlob(db: Db, key: string): Promise<void> {
  await db.deleteFrom('blobs').where('key', '=', key).execute();
}

/** Versions left incomplete by a process that died while writing, older than `before`. */
export async function dropStaleBlobVersions(db: Db, before: Date): Promise<number> {
  const r = await db.deleteFrom('blobs').where('complete', '=', false).where('created_at', '<', before.toISOString()).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Every blob key the database refers to (uploaded files and exports), for moving them between stores. */
export async function referencedBlobKeys(db: Db): Promise<string[]> {
  const files = await db.selectFrom('datasources').select('blob_key').execute();
  const exports = await db.selectFrom('exports').select('blob_key').execute();
  return [...new Set([...files, ...exports].map((r) => r.blob_key))];
}
