import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { addBlobChunk, beginBlob, commitBlob, deleteBlob, dropBlobVersion, dropStaleBlobVersions, findBlob, readBlobChunk } from '../../store/blobs.ts';
import type { Store } from '../../store/store.ts';
import { byteCounter, withTemporaryCopy, type BlobStore } from './blob-store.ts';

/** Bytes per stored chunk: large enough that a 100 MB upload is 100 inserts, small enough to hold one in memory. */
export const POSTGRES_BLOB_CHUNK_BYTES = 1024 * 1024;

/**
 * Blobs in the PostgreSQL database the deployment already shares (the default with DATABASE_URL
 * when no object store is set): every API process and worker reads what any of them wrote.
 * Streamed both ways a chunk at a time (store/blobs.ts).
 */
export function createPostgresBlobStore(store: Store, { chunkBytes = POSTGRES_BLOB_CHUNK_BYTES } = {}): BlobStore {
  // Versions a killed process left half-written (older than a day: a slow upload may still be going).
  void dropStaleBlobVersions(store.db, new Date(Date.now() - 86_400_000)).catch(() => {});
  const self: BlobStore = {
    kind: 'postgres',
    async put(key, body, options = {}) {
      const id = await beginBlob(store.db, key);
      const counter = byteCounter(options.maxBytes);
      try {
        await pipeline(body, counter, async (source: AsyncIterable<Buffer>) => {
          let seq = 0;
          let pending: Buffer[] = [];
          let pendingBytes = 0;
          const flush = async () => {
            const data = Buffer.concat(pending, pendingBytes);
            pending = [];
            pendingBytes = 0;
            await addBlobChunk(store.db, id, seq++, data);
          };
          for await (const chunk of source) {
            let rest = chunk;
            while (rest.length) {
              const take = rest.subarray(0, chunkBytes - pendingBytes);
              pending.push(take);
              pendingBytes += take.length;
              rest = rest.subarray(take.length);
              if (pendingBytes === chunkBytes) await flush();
            }
          }
          if (pendingBytes) await flush();
        });
        await commitBlob(store, id, key, counter.bytes);
      } catch (err) {
        await dropBlobVersion(store.db, id).catch(() => {});
        throw err;
      }
      return counter.bytes;
    },
    async read(key) {
      const blob = await findBlob(store.db, key);
      if (!blob) throw Object.assign(new Error(`blob ${key} not found`), { code: 'ENOENT' });
      return Readable.from(
        (async function* () {
          let bytes = 0;
          for (let seq = 0; bytes < blob.size; seq++) {
            const data = await readBlobChunk(store.db, blob.id, seq);
            // Replaced or deleted while being read: fail rather than end a download short.
            if (!data) throw new Error(`blob ${key} changed while being read`);
            bytes += data.byteLength;
            yield Buffer.from(data.buffer, data.byteOffset, data.byteLength);
          }
        })(),
      );
    },
    withFile: (key, fn) => withTemporaryCopy(self, key, fn),
    async delete(key) {
      await deleteBlob(store.db, key);
    },
  };
  return self;
}
