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

if (testBackend().kind === 'postgres') {
  const { it } = await import('node:test');
  it('migrates in the connection\'s default schema while other schemas of the database hold cellwise tables too', async () => {
    const other = await freshDatabase();
    const first = await openStore(other);
    const plain = await openStore({ dataDir: other.dataDir, databaseUrl: other.databaseUrl });
    await plain.close();
    await first.close();
    await other.drop();
  });
}
