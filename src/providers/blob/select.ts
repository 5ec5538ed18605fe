import path from 'node:path';
import { ConfigError, type Config } from '../../config.ts';
import type { Store } from '../../store/store.ts';
import type { BlobStore, BlobStoreKind } from './blob-store.ts';
import { createLocalBlobStore } from './local-blob-store.ts';
import { createPostgresBlobStore } from './postgres-blob-store.ts';
import type { S3BlobStoreOptions } from './s3-blob-store.ts';

/** The adapter a configuration asks for: CELLWISE_BLOB_STORE, else S3 when a bucket is set, else PostgreSQL with DATABASE_URL, else local files. */
export function blobStoreKind(config: Partial<Pick<Config, 'blobStore' | 's3Bucket' | 'databaseUrl'>>): BlobStoreKind {
  return config.blobStore ?? (config.s3Bucket ? 's3' : config.databaseUrl ? 'postgres' : 'local');
}

/** Builds the blob store of `kind` (by default the configured one); throws ConfigError when its settings are missing. */
export function createBlobStore(config: Readonly<Config>, store: Store, kind: BlobStoreKind = blobStoreKind(config)): BlobStore {
  if (kind === 'local') return createLocalBlobStore(path.join(config.dataDir, 'files'));
  if (kind === 'postgres') {
    if (store.dialect !== 'postgres') throw new ConfigError('Invalid configuration:\n  CELLWISE_BLOB_STORE: postgres needs DATABASE_URL (PostgreSQL)');
    return createPostgresBlobStore(store);
  }
  if (!config.s3Bucket) throw new ConfigError('Invalid configuration:\n  CELLWISE_S3_BUCKET: the S3 blob store needs a bucket (and CELLWISE_S3_ENDPOINT for a store other than AWS)');
  return lazyS3BlobStore({ bucket: config.s3Bucket, endpoint: config.s3Endpoint, region: config.s3Region, accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey, forcePathStyle: config.s3ForcePathStyle });
}

/**
 * The S3 adapter, loaded on first use: @aws-sdk/client-s3 and lib-storage add about 20 MB to the
 * memory of every process that loads them, and deployments on local files or PostgreSQL never do.
 */
function lazyS3BlobStore(options: S3BlobStoreOptions): BlobStore {
  let real: Promise<BlobStore> | undefined;
  const get = () => (real ??= import('./s3-blob-store.ts').then((m) => m.createS3BlobStore(options)));
  return {
    kind: 's3',
    put: async (key, body, putOptions) => (await get()).put(key, body, putOptions),
    read: async (key) => (await get()).read(key),
    withFile: async (key, fn) => (await get()).withFile(key, fn),
    delete: async (key) => (await get()).delete(key),
  };
}
