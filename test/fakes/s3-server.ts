import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

/** s3rver's fixed development credentials (it checks signatures made with them). */
export const S3_ACCESS_KEY_ID = 'S3RVER';
export const S3_SECRET_ACCESS_KEY = 'S3RVER';

/** A local S3-compatible server (s3rver) on a free loopback port, with one bucket, its files in a temp folder. */
export async function startS3Server(bucket = 'cellwise') {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'cellwise-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    bucket,
    /** The settings a cellwise process needs to use this server. */
    config: { s3Endpoint: endpoint, s3Bucket: bucket, s3Region: 'us-east-1', s3AccessKeyId: S3_ACCESS_KEY_ID, s3SecretAccessKey: S3_SECRET_ACCESS_KEY, s3ForcePathStyle: true },
    env: { CELLWISE_S3_ENDPOINT: endpoint, CELLWISE_S3_BUCKET: bucket, CELLWISE_S3_REGION: 'us-east-1', CELLWISE_S3_ACCESS_KEY_ID: S3_ACCESS_KEY_ID, CELLWISE_S3_SECRET_ACCESS_KEY: S3_SECRET_ACCESS_KEY, CELLWISE_S3_FORCE_PATH_STYLE: 'true' },
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
