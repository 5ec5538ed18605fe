import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { byteCounter, type BlobStore } from './blob-store.ts';

/** Blobs as files under a root folder; writes go to a temp name and are renamed into place. */
export function createLocalBlobStore(root: string): BlobStore {
  const resolve = (key: string) => {
    const full = path.resolve(root, key);
    if (!full.startsWith(path.resolve(root) + path.sep)) throw new Error(`invalid blob key ${key}`);
    return full;
  };
  return {
    kind: 'local',
    async put(key, body, options = {}) {
      const target = resolve(key);
      await mkdir(path.dirname(target), { recursive: true });
      const temp = `${target}.${randomBytes(6).toString('hex')}.part`;
      const counter = byteCounter(options.maxBytes);
      try {
        await pipeline(body, counter, createWriteStream(temp));
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      return counter.bytes;
    },
    async read(key) {
      const file = resolve(key);
      await stat(file);
      return createReadStream(file) as Readable;
    },
    async withFile(key, fn) {
      return fn(resolve(key));
    },
    async delete(key) {
      await rm(resolve(key), { force: true });
    },
  };
}
