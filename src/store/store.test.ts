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
