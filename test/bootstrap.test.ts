import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/main.ts';
import { ADMIN_KEY, freshDatabase, testBackend } from './helpers/app.ts';

/**
 * Processes of one deployment starting together on an empty PostgreSQL database (found by the
 * multi-node soak: a duplicate admin key, two default workspaces, or the schema created twice).
 */
describe('first start of several processes at once (PostgreSQL)', { skip: testBackend().kind !== 'postgres' ? 'needs the PostgreSQL backend (CI runs it)' : false }, () => {
  it('makes one default workspace and one admin key', async () => {
    const db = await freshDatabase();
    const config = loadConfig({}, { port: 0, dataDir: db.dataDir, databaseUrl: db.databaseUrl, databaseSchema: db.databaseSchema, adminKey: ADMIN_KEY, logLevel: 'error', workers: 'none' });
    const started = await Promise.allSettled(Array.from({ length: 4 }, () => startServer(config)));
    try {
      assert.deepEqual(started.map((s) => s.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'], JSON.stringify(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'ok'))));
      const one = (started[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof startServer>>>).value;
      const counts = (await sql<{ ws: string; keys: string }>`SELECT (SELECT count(*) FROM workspaces) AS ws, (SELECT count(*) FROM api_keys) AS keys`.execute(one.store.db)).rows[0]!;
      assert.equal(Number(counts.ws), 1);
      assert.equal(Number(counts.keys), 1);
    } finally {
      for (const s of started) if (s.status === 'fulfilled') await s.value.close();
      await db.drop();
    }
  });
});
