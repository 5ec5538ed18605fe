import type { Readable } from 'node:stream';

/**
 * Where uploaded files and exports live. Keys are opaque relative paths chosen by the caller.
 * The local-filesystem adapter is the default; an object store can implement the same port.
 */
export interface BlobStore {
  /** Writes a stream under key; returns its size in bytes. Rejects (and leaves nothing) on error. */
  put(key: string, body: Readable, options?: { maxBytes?: number }): Promise<number>;
  /** A stream of the stored bytes; rejects if the key does not exist. */
  read(key: string): Promise<Readable>;
  /** Runs fn with a local file path holding the blob (the file itself for local storage). */
  withFile<T>(key: string, fn: (path: string) => Promise<T>): Promise<T>;
  delete(key: string): Promise<void>;
}

export class BlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`blob exceeds ${maxBytes} bytes`);
  }
}
