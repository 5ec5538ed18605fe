import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { byteCounter, withTemporaryCopy, type BlobStore } from './blob-store.ts';

export type S3BlobStoreOptions = {
  bucket: string;
  /** An S3-compatible endpoint (MinIO, R2, s3rver ...); unset: AWS for the region. */
  endpoint?: string | undefined;
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** `bucket` in the path rather than the host name (most self-hosted stores need it). */
  forcePathStyle: boolean;
  /** Multipart part size (S3's minimum is 5 MB): a large file is uploaded in parts, a few in flight, never whole in memory. */
  partBytes?: number;
};

/**
 * Blobs in an S3-compatible bucket, for deployments on several machines. Uploads stream through
 * @aws-sdk/lib-storage's Upload (a single PUT below one part, multipart above, aborted on error);
 * downloads stream the object's body.
 */
export function createS3BlobStore(options: S3BlobStoreOptions): BlobStore & { client: S3Client } {
  const client = new S3Client({
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.accessKeyId && options.secretAccessKey ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } } : {}),
  });
  const Bucket = options.bucket;
  const self: BlobStore & { client: S3Client } = {
    kind: 's3',
    client,
    async put(key, body, putOptions = {}) {
      const counter = byteCounter(putOptions.maxBytes);
      // The counter fails the stream past maxBytes; Upload then aborts its multipart upload.
      body.on('error', (err) => counter.destroy(err));
      const upload = new Upload({ client, params: { Bucket, Key: key, Body: body.pipe(counter) }, partSize: options.partBytes ?? 8 * 1024 * 1024, queueSize: 2, leavePartsOnError: false });
      await upload.done();
      return counter.bytes;
    },
    async read(key) {
      const res = await client.send(new GetObjectCommand({ Bucket, Key: key }));
      return res.Body as Readable;
    },
    withFile: (key, fn) => withTemporaryCopy(self, key, fn),
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
  };
  return self;
}
