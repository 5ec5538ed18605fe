import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { BlobTooLargeError, type BlobStore } from './blob-store.ts';

/** Blobs as files under a root folder; writes go to a temp name and are renamed into place. */
export function createLocalBlobStore(root: string): BlobStore {
  const resolve = (key: string) => {
    const full = path.resolve(root, key);
    if (!full.startsWith(path.resolve(root) + path.sep)) throw new Error(`invalid blob key ${key}`);
    return full;
  };
  return {
    async put(key, body, options = {}) {
      const target = resolve(key);
      await mkdir(path.dirname(target), { recursive: true });
      const temp = `${target}.${randomBytes(6).toString('hex')}.part`;
      let size = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          if (options.maxBytes !== undefined && size > options.maxBytes) cb(new BlobTooLargeError(options.maxBytes));
          else cb(null, chunk);
        },
      });
      try {
        await pipeline(body, counter, createWriteStream(temp));
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      return size;
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
