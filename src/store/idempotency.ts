import type { Db } from './store.ts';

export type IdempotencyRecord = { requestHash: string; statusCode: number; responseBody: string; contentType: string; createdAt: string };
export const IN_FLIGHT = 0;

/** Claims the key for a request; false when another request already holds it. */
export async function claimIdempotencyKey(db: Db, r: { keyId: string; idemKey: string; method: string; path: string; requestHash: string; createdAt: string }): Promise<boolean> {
  const result = await db
    .insertInto('idempotency_keys')
    .values({ key_id: r.keyId, idem_key: r.idemKey, method: r.method, path: r.path, request_hash: r.requestHash, status_code: IN_FLIGHT, response_body: '', content_type: '', created_at: r.createdAt })
    .onConflict((oc) => oc.columns(['key_id', 'idem_key']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function findIdempotencyKey(db: Db, keyId: string, idemKey: string): Promise<IdempotencyRecord | undefined> {
  const row = await db.selectFrom('idempotency_keys').selectAll().where('key_id', '=', keyId).where('idem_key', '=', idemKey).executeTakeFirst();
  return row && { requestHash: row.request_hash, statusCode: row.status_code, responseBody: row.response_body, contentType: row.content_type, createdAt: row.created_at };
}

export async function completeIdempotencyKey(db: Db, keyId: string, idemKey: string, response: { statusCode: number; body: string; contentType: string }): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ status_code: response.statusCode, response_body: response.body, content_type: response.contentType })
    .where('key_id', '=', keyId)
    .where('idem_key', '=', idemKey)
    .execute();
}

export async function releaseIdempotencyKey(db: Db, keyId: string, idemKey: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('key_id', '=', keyId).where('idem_key', '=', idemKey).execute();
}

export async function purgeIdempotencyKeys(db: Db, olderThan: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('created_at', '<', olderThan).execute();
}
