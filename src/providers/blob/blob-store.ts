import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Where uploaded files and exports live. Keys are opaque relative paths chosen by the caller.
 * Adapters: the local filesystem (the default, one machine), PostgreSQL (chunks in the database
 * every node already shares) and S3-compatible object stores; all pass blob.contract.ts.
 */
export interface BlobStore {
  /** Which adapter this is (logs, `cellwise blobs migrate`). */
  readonly kind: BlobStoreKind;
  /** Writes a stream under key (replacing what was there); returns its size in bytes. Rejects (and leaves the key as it was) on error. */
  put(key: string, body: Readable, options?: { maxBytes?: number }): Promise<number>;
  /** A stream of the stored bytes; rejects if the key does not exist. */
  read(key: string): Promise<Readable>;
  /** Runs fn with a local file path holding the blob (the file itself for local storage, else a temporary copy removed afterwards). */
  withFile<T>(key: string, fn: (path: string) => Promise<T>): Promise<T>;
  /** Removes the key; a key that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Adapters that write a partial file beside the final one (local files) remove the partial files a
   * killed process left, older than olderThanMs; returns how many. The others publish a blob only
   * when it is complete and need no sweep.
   */
  sweepPartial?(olderThanMs: number): Promise<number>;
}

export type BlobStoreKind = 'local' | 'postgres' | 's3';

export class BlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`blob exceeds ${maxBytes} bytes`);
  }
}

/** A pass-through that counts bytes and fails with BlobTooLargeError past maxBytes. */
export function byteCounter(maxBytes: number | undefined): Transform & { readonly bytes: number } {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (maxBytes !== undefined && bytes > maxBytes) cb(new BlobTooLargeError(maxBytes));
      else cb(null, chunk);
    },
  });
  return Object.defineProperty(counter, 'bytes', { get: () => bytes }) as Transform & { readonly bytes: number };
}

/** withFile for stores that are not files: the blob streamed to a temporary file (keeping the key's base name), removed after fn. */
export async function withTemporaryCopy<T>(store: Pick<BlobStore, 'read'>, key: string, fn: (path: string) => Promise<T>): Promise<T> {
  const body = await store.read(key);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-blob-'));
  try {
    const file = path.join(dir, path.basename(key));
    await pipeline(body, createWriteStream(file));
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
