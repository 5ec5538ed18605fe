import { createHash, randomBytes } from 'node:crypto';
import { ApiError, InvalidParametersError, NotFoundError } from '../../http/errors.ts';
import { newId } from '../../ids.ts';
import { now, type Db, type Store } from '../../store/store.ts';
import * as keysDb from '../../store/workspaces.ts';
import type { ApiKeyRecord, Scope } from '../../store/workspaces.ts';

export type Auth = { workspaceId: string; keyId: string; scopes: Scope[] };

/** API keys are high-entropy random strings, so a fast SHA-256 is the right hash: no salt or KDF needed. */
export const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');
const mintKey = (): string => `cw_${randomBytes(24).toString('base64url')}`;

/**
 * instance implies admin implies write implies read. `instance` is the instance-level admin (the
 * bootstrap key and keys it grants that scope): only it creates workspaces; a workspace's own
 * admin keys manage that workspace alone.
 */
export function hasScope(granted: readonly Scope[], needed: Scope): boolean {
  if (granted.includes('instance')) return true;
  if (needed === 'instance') return false;
  if (granted.includes('admin')) return true;
  if (needed === 'read') return granted.includes('read') || granted.includes('write');
  return granted.includes(needed);
}

export const keyView = (k: ApiKeyRecord) => ({ keyId: k.id, name: k.name, prefix: k.prefix, scopes: k.scopes, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt });

/** The names bootstrap gives the keys it creates (generated at first start, CELLWISE_ADMIN_KEY). */
const BOOTSTRAP_NAMES = ['bootstrap admin', 'CELLWISE_ADMIN_KEY'] as const;

export function createKeyService({ store }: { store: Store }) {
  // last_used_at is informative only; write it at most once a minute per key, off the hot path.
  const lastTouched = new Map<string, number>();

  async function issue(workspaceId: string, name: string, scopes: Scope[], plain = mintKey(), db: Db = store.db) {
    const record: ApiKeyRecord = { id: newId('key'), workspaceId, name, prefix: plain.slice(0, 7), scopes, createdAt: now(), lastUsedAt: null };
    await keysDb.insertApiKey(db, { ...record, hash: hashKey(plain) });
    return { record, key: plain };
  }

  return {
    async authenticate(header: string | undefined): Promise<Auth> {
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!match) throw new ApiError('UNAUTHORIZED', header ? 'Authorization header must be "Bearer <key>"' : 'Authentication required: send "Authorization: Bearer <key>"');
      const record = await keysDb.findKeyByHash(store.db, hashKey(match[1]!));
      if (!record) throw new ApiError('UNAUTHORIZED', 'Unknown API key');
      const t = Date.now();
      if ((lastTouched.get(record.id) ?? 0) < t - 60_000) {
        lastTouched.set(record.id, t);
        void keysDb.touchKey(store.db, record.id, new Date(t).toISOString()).catch(() => {});
      }
      return { workspaceId: record.workspaceId, keyId: record.id, scopes: record.scopes };
    },

    async create(auth: Auth, input: { name: string; scopes: Scope[] }) {
      if (input.scopes.includes('instance') && !auth.scopes.includes('instance')) {
        throw new ApiError('ACCESS_DENIED', 'Only an instance admin key may grant the instance scope', { requiredScope: 'instance', scopes: auth.scopes });
      }
      const { record, key } = await issue(auth.workspaceId, input.name, input.scopes);
      return { keyId: record.id, key, name: record.name, scopes: record.scopes, createdAt: record.createdAt };
    },

    async list(auth: Auth) {
      return (await keysDb.listKeys(store.db, auth.workspaceId)).map(keyView);
    },

    async remove(auth: Auth, keyId: string) {
      const keys = await keysDb.listKeys(store.db, auth.workspaceId);
      const target = keys.find((k) => k.id === keyId);
      if (!target) throw new NotFoundError('key', keyId);
      if (target.scopes.includes('admin') && keys.filter((k) => k.scopes.includes('admin')).length === 1) {
        throw new InvalidParametersError([{ path: 'keyId', message: 'cannot delete the last admin key of the workspace' }]);
      }
      await keysDb.deleteKey(store.db, auth.workspaceId, keyId);
      return { keyId, deleted: true as const };
    },

    /**
     * A key made directly in the database, no running server or key needed (`cellwise keys create
     * --local`): the recovery for a lost admin key. Goes to the first (default) workspace.
     */
    async createLocal(input: { name: string; scopes: Scope[] }) {
      const workspaceId = (await keysDb.firstWorkspace(store.db))?.id;
      if (!workspaceId) throw new InvalidParametersError([{ path: 'workspace', message: 'the database has no workspace yet: start the server once' }]);
      const { record, key } = await issue(workspaceId, input.name, input.scopes);
      return { ...keyView(record), key, workspaceId };
    },
    /** A workspace and its first admin key, shown in plain text once. */
    async createWorkspace(name: string) {
      const workspaceId = newId('workspace');
      await keysDb.insertWorkspace(store.db, { id: workspaceId, name, createdAt: now() });
      const { key } = await issue(workspaceId, 'admin', ['admin']);
      return { workspaceId, name, key };
    },

    /**
     * First start: create the default workspace with CELLWISE_ADMIN_KEY (or a generated key, which
     * is returned so the caller can print it once). Later starts make sure a configured key exists,
     * which is also how an operator who lost every key gets back in.
     */
    async bootstrap(adminKey: string | undefined): Promise<{ generatedKey?: string }> {
      return store.transaction(async (trx) => {
        // Several processes may start at once on one PostgreSQL database: one of them creates.
        await keysDb.lockBootstrap(trx);
        let ws = await keysDb.firstWorkspace(trx);
        let generatedKey: string | undefined;
        if (!ws) {
          const id = newId('workspace');
          await keysDb.insertWorkspace(trx, { id, name: 'default', createdAt: now() });
          ws = { id, name: 'default' };
          if (!adminKey) generatedKey = (await issue(id, BOOTSTRAP_NAMES[0], ['admin', 'instance'], undefined, trx)).key;
        }
        if (adminKey && !(await keysDb.findKeyByHash(trx, hashKey(adminKey)))) {
          await issue(ws.id, BOOTSTRAP_NAMES[1], ['admin', 'instance'], adminKey, trx);
        }
        // Databases from before the instance scope: their bootstrap keys become instance admins.
        for (const k of await keysDb.listKeys(trx, ws.id)) {
          if ((BOOTSTRAP_NAMES as readonly string[]).includes(k.name) && k.scopes.includes('admin') && !k.scopes.includes('instance')) await keysDb.setKeyScopes(trx, k.id, [...k.scopes, 'instance']);
        }
        return generatedKey ? { generatedKey } : {};
      });
    },
  };
}
export type KeyService = ReturnType<typeof createKeyService>;
