import type { Config } from '../config.ts';
import type { BlobStoreKind } from '../providers/blob/blob-store.ts';
import { blobStoreKind, createBlobStore } from '../providers/blob/select.ts';
import { referencedBlobKeys } from '../store/blobs.ts';
import { openStore } from '../store/store.ts';

export const BLOBS_USAGE = `cellwise blobs migrate --to local|postgres|s3 [--from local|postgres|s3]
  Copies every uploaded file, document and export the database refers to from the blob store in
  use (--from; default: the configured one, or without the target's settings the local or
  PostgreSQL store) to another. Run it with the servers and workers
  stopped, then start them with the new store configured (CELLWISE_BLOB_STORE, or the
  CELLWISE_S3_* settings). Files are copied, not deleted: remove the old ones once satisfied.
  Running it again copies everything again (safe).`;

const KINDS: readonly BlobStoreKind[] = ['local', 'postgres', 's3'];

/** `cellwise blobs migrate --to KIND`; returns the process exit code. */
export async function blobsCommand(args: string[], config: Readonly<Config>, out: (line: string) => void = console.log): Promise<number> {
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
  };
  const to = option('--to') as BlobStoreKind | undefined;
  // By default the configured store; when that is already the target (its settings were added
  // for this move), the store the deployment used without them.
  const configured = blobStoreKind(config);
  const from = (option('--from') as BlobStoreKind | undefined) ?? (configured !== to ? configured : blobStoreKind({ databaseUrl: config.databaseUrl }));
  if (args[0] !== 'migrate' || !to || !KINDS.includes(to) || !KINDS.includes(from)) {
    out(BLOBS_USAGE);
    return 2;
  }
  if (to === from) {
    out(`The blob store is already ${from}: nothing to move (use --from to name another source).`);
    return 2;
  }
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, databaseSchema: config.databaseSchema });
  try {
    const source = createBlobStore(config, store, from);
    const target = createBlobStore(config, store, to);
    const keys = await referencedBlobKeys(store.db);
    let copied = 0;
    let bytes = 0;
    const missing: string[] = [];
    for (const key of keys) {
      const body = await source.read(key).catch(() => undefined);
      if (!body) {
        missing.push(key);
        continue;
      }
      bytes += await target.put(key, body);
      copied++;
    }
    out(`Copied ${copied} of ${keys.length} files (${(bytes / 1048576).toFixed(1)} MB) from ${from} to ${to}.`);
    if (missing.length) out(`Not found in ${from} (skipped): ${missing.length}, e.g. ${missing.slice(0, 5).join(', ')}`);
    return missing.length ? 1 : 0;
  } finally {
    await store.close();
  }
}
