import { randomBytes } from 'node:crypto';
import type { Db } from './store.ts';

/**
 * Returns the named secret, creating it once. Kept in the database rather than the data dir so
 * that every server process of a PostgreSQL deployment signs and verifies links alike.
 */
export async function ensureSecret(db: Db, key: string): Promise<string> {
  const existing = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  if (existing) return existing.value;
  await db.insertInto('settings').values({ key, value: randomBytes(32).toString('base64url') }).onConflict((oc) => oc.column('key').doNothing()).execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  return row.value;
}
