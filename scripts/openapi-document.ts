// The live OpenAPI document, built by the real app on a throwaway SQLite folder (no server
// listens). Used by `npm run client:generate`, the lint test and the client drift test.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { buildApp } from '../src/main.ts';

export async function liveOpenApiDocument(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-openapi-'));
  const built = await buildApp(loadConfig({}, { dataDir, logLevel: 'silent', adminKey: 'cw_openapi_document_only_0000' }));
  try {
    const res = await built.app.request('/api/v2/openapi.json');
    return (await res.json()) as Record<string, unknown>;
  } finally {
    await built.documents.close();
    await built.store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await liveOpenApiDocument(), null, 2)}\n`);
}
