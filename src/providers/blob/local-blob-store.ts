import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { byteCounter, type BlobStore } from './blob-store.ts';

/** Blobs as files under a root folder; writes go to a temp name and are renamed into place. */
export function createLocalBlobStore(root: string): BlobStore & { sweepPartial(olderThanMs: number): Promise<number> } {
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
    /**
     * Deletes the temp files of writes that a killed process never finished (`*.part` not
     * written to for `olderThanMs`; 0 when this process owns the data dir alone). Returns how many.
     */
    async sweepPartial(olderThanMs) {
      const entries = await readdir(root, { withFileTypes: true, recursive: true }).catch(() => []);
      let removed = 0;
      for (const e of entries) {
        if (!e.isFile() || !e.name.endsWith('.part')) continue;
        const file = path.join(e.parentPath, e.name);
        const info = await stat(file).catch(() => undefined);
        if (info && Date.now() - info.mtimeMs >= olderThanMs) {
          await rm(file, { force: true });
          removed++;
        }
      }
      return removed;
    },
  };
}
