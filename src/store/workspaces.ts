import { sql } from 'kysely';
import { type Db, isPostgres } from './store.ts';

/** `instance`: an instance-level admin (creates workspaces); `admin` manages one workspace. */
export type Scope = 'read' | 'write' | 'admin' | 'instance';
export type ApiKeyRecord = { id: string; workspaceId: string; name: string; prefix: string; scopes: Scope[]; createdAt: string; lastUsedAt: string | null };

export async function insertWorkspace(db: Db, ws: { id: string; name: string; createdAt: string }): Promise<void> {
  await db.insertInto('workspaces').values({ id: ws.id, name: ws.name, created_at: ws.createdAt }).execute();
}

/**
 * Serialises the first-start bootstrap (default workspace, admin key) of processes starting
 * together on one PostgreSQL database (found by the multi-node soak: two API processes and two
 * workers starting at once made two default workspaces, or failed on the admin key's unique hash).
 * A transaction-scoped advisory lock; SQLite has one writer anyway.
 */
export async function lockBootstrap(trx: Db): Promise<void> {
  if (isPostgres(trx)) await sql`SELECT pg_advisory_xact_lock(hashtext('cellwise.bootstrap'))`.execute(trx);
}

export async function firstWorkspace(db: Db): Promise<{ id: string; name: string } | undefined> {
  return db.selectFrom('workspaces').select(['id', 'name']).orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
}

export async function insertApiKey(db: Db, key: ApiKeyRecord & { hash: string }): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({ id: key.id, workspace_id: key.workspaceId, name: key.name, key_hash: key.hash, key_prefix: key.prefix, scopes: JSON.stringify(key.scopes), created_at: key.createdAt, last_used_at: null })
    .execute();
}

type KeyRow = { id: string; workspace_id: string; name: string; key_prefix: string; scopes: string; created_at: string; last_used_at: string | null };
const toKey = (r: KeyRow): ApiKeyRecord => ({ id: r.id, workspaceId: r.workspace_id, name: r.name, prefix: r.key_prefix, scopes: JSON.parse(r.scopes) as Scope[], createdAt: r.created_at, lastUsedAt: r.last_used_at });
const KEY_COLUMNS = ['id', 'workspace_id', 'name', 'key_prefix', 'scopes', 'created_at', 'last_used_at'] as const;

export async function findKeyByHash(db: Db, hash: string): Promise<ApiKeyRecord | undefined> {
  const row = await db.selectFrom('api_keys').select(KEY_COLUMNS).where('key_hash', '=', hash).executeTakeFirst();
  return row && toKey(row);
}

export async function listKeys(db: Db, workspaceId: string): Promise<ApiKeyRecord[]> {
  const rows = await db.selectFrom('api_keys').select(KEY_COLUMNS).where('workspace_id', '=', workspaceId).orderBy('created_at').orderBy('id').execute();
  return rows.map(toKey);
}

export async function deleteKey(db: Db, workspaceId: string, keyId: string): Promise<boolean> {
  const result = await db.deleteFrom('api_keys').where('id', '=', keyId).where('workspace_id', '=', workspaceId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function touchKey(db: Db, keyId: string, at: string): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', keyId).execute();
}

export async function setKeyScopes(db: Db, keyId: string, scopes: Scope[]): Promise<void> {
  await db.updateTable('api_keys').set({ scopes: JSON.stringify(scopes) }).where('id', '=', keyId).execute();
}
