import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { freshDatabase, testBackend } from '../../test/helpers/app.ts';
import { openStore } from './store.ts';
import { storeContract } from './store.contract.ts';

// The contract runs on the backend of this test run (scripts/test.mjs runs SQLite, then PostgreSQL).
storeContract(testBackend().kind, async () => {
  const db = await freshDatabase();
  const store = await openStore(db);
  return Object.assign(store, {
    async drop() {
      await store.close();
      await db.drop();
    },
  });
});

const pgOnly = testBackend().kind !== 'postgres' && 'PostgreSQL schemas: needs the PostgreSQL backend (CI runs it)';
it('migrates in the connection\'s default schema while other schemas of the database hold cellwise tables too', { skip: pgOnly }, async () => {
  const other = await freshDatabase();
  const first = await openStore(other);
  // A second, empty schema made the connection's default one through the URL (no databaseSchema):
  // the migrator must create its tables there, not take the other schema's for its own.
  const target = await freshDatabase();
  const seed = await openStore({ dataDir: target.dataDir, databaseUrl: target.databaseUrl, databaseSchema: target.databaseSchema });
  await sql`DROP SCHEMA ${sql.id(target.databaseSchema!)} CASCADE`.execute(seed.db);
  await sql`CREATE SCHEMA ${sql.id(target.databaseSchema!)}`.execute(seed.db);
  await seed.close();
  const url = new URL(target.databaseUrl!);
  url.searchParams.set('options', `-c search_path=${target.databaseSchema}`);
  const plain = await openStore({ dataDir: target.dataDir, databaseUrl: url.toString() });
  try {
    const tables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = ${target.databaseSchema!}`.execute(plain.db);
    const names = tables.rows.map((r) => r.table_name);
    assert.ok(names.includes('datasets') && names.includes('task_items'), `tables in the default schema: ${names.join(', ')}`);
    assert.ok(names.includes('kysely_migration'), 'the migrations are recorded in the default schema');
    assert.equal((await plain.db.selectFrom('datasets').select('id').execute()).length, 0);
  } finally {
    await plain.close();
    await first.close();
    await target.drop();
    await other.drop();
  }
});
