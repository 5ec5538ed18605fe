import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { BlobTooLargeError, type BlobStore } from './blob-store.ts';

/** Every blob adapter passes this suite (local files, PostgreSQL, S3-compatible). */
export function blobStoreContract(name: string, make: () => BlobStore | Promise<BlobStore>, options: { skip?: string | false } = {}) {
  describe(`blob store contract: ${name}`, { skip: options.skip ?? false }, () => {
    const key = (label: string) => `contract/${label}-${randomBytes(4).toString('hex')}.bin`;
    const collect = async (r: Readable) => {
      const parts: Buffer[] = [];
      for await (const c of r) parts.push(Buffer.from(c as Uint8Array));
      return Buffer.concat(parts);
    };
    /** `total` bytes of a repeatable pseudo-random pattern, produced 64 KB at a time (never whole). */
    const generated = (total: number) =>
      Readable.from(
        (function* () {
          for (let at = 0; at < total; at += 65_536) {
            const n = Math.min(65_536, total - at);
            const block = Buffer.alloc(n);
            for (let i = 0; i < n; i++) block[i] = ((at + i) * 31) % 251;
            yield block;
          }
        })(),
      );
    const sha = async (r: Readable) => {
      const h = createHash('sha256');
      for await (const c of r) h.update(c as Uint8Array);
      return h.digest('hex');
    };

    it('stores a stream and reads the same bytes back, reporting its size', async () => {
      const store = await make();
      const k = key('round-trip');
      const content = Buffer.from('héllo, blob\n'.repeat(100));
      assert.equal(await store.put(k, Readable.from([content])), content.length);
      assert.deepEqual(await collect(await store.read(k)), content);
    });

    it('streams a large file both ways (many chunks, multipart on object stores)', async () => {
      const store = await make();
      const k = key('large');
      const size = 13 * 1024 * 1024 + 123;
      assert.equal(await store.put(k, generated(size)), size);
      assert.equal(await sha(await store.read(k)), await sha(generated(size)));
    });

    it('stores an empty file', async () => {
      const store = await make();
      const k = key('empty');
      assert.equal(await store.put(k, Readable.from([])), 0);
      assert.equal((await collect(await store.read(k))).length, 0);
    });

    it('replaces what a key held', async () => {
      const store = await make();
      const k = key('replace');
      await store.put(k, Readable.from([Buffer.from('first version, longer')]));
      await store.put(k, Readable.from([Buffer.from('second')]));
      assert.equal((await collect(await store.read(k))).toString(), 'second');
    });

    it('rejects past maxBytes with BlobTooLargeError and keeps what the key held', async () => {
      const store = await make();
      const k = key('too-large');
      await store.put(k, Readable.from([Buffer.from('kept')]));
      await assert.rejects(store.put(k, generated(6 * 1024 * 1024), { maxBytes: 5 * 1024 * 1024 }), BlobTooLargeError);
      assert.equal((await collect(await store.read(k))).toString(), 'kept');
      const fresh = key('too-large-new');
      await assert.rejects(store.put(fresh, generated(100), { maxBytes: 10 }), BlobTooLargeError);
      await assert.rejects(store.read(fresh), 'nothing is left under a key whose first write failed');
    });

    it('rejects when the source stream fails and leaves nothing', async () => {
      const store = await make();
      const k = key('broken');
      const broken = Readable.from(
        (async function* () {
          yield Buffer.alloc(1000, 1);
          throw new Error('client went away');
        })(),
      );
      await assert.rejects(store.put(k, broken));
      await assert.rejects(store.read(k));
    });

    it('rejects reading a key that does not exist', async () => {
      const store = await make();
      await assert.rejects(store.read(key('missing')));
    });

    it('gives a local file holding the blob to withFile', async () => {
      const store = await make();
      const k = key('with-file');
      await store.put(k, Readable.from([Buffer.from('on disk for a moment')]));
      assert.equal(await store.withFile(k, async (file) => (await readFile(file)).toString()), 'on disk for a moment');
    });

    it('deletes, and deleting a missing key is not an error', async () => {
      const store = await make();
      const k = key('delete');
      await store.put(k, Readable.from([Buffer.from('x')]));
      await store.delete(k);
      await assert.rejects(store.read(k));
      await store.delete(k);
    });
  });
}
