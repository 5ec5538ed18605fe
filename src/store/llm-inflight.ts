import { sql } from 'kysely';
import type { Db } from './store.ts';

/**
 * Claims on LLM requests in flight, shared by the engine processes of a PostgreSQL deployment
 * (table llm_inflight, migration 0015): one row per (workspace, cache key) names the process
 * calling the provider for it. Another process asking the same question finds the claim and waits
 * for the answer to reach llm_cache instead of paying for it again (engine/cache.ts). SQLite
 * deployments are one process and have no such table.
 */
export type InflightClaim = { workspaceId: string; key: string };

/**
 * Claims every request of `claims` not claimed yet, or claimed by a process that is gone (its
 * engine_workers row expired or was removed: it crashed or stopped) or whose claim expired (a
 * backstop for a claim its process forgot), or already claimed by `owner`. One statement for the
 * batch; answers the claims won, as `workspaceId/key`.
 */
export async function claimRequests(db: Db, claims: readonly InflightClaim[], owner: string, expiresAt: string, now: string): Promise<Set<string>> {
  // One row per key: ON CONFLICT DO UPDATE may not touch a row twice in one statement.
  const unique = [...new Map(claims.map((c) => [`${c.workspaceId}/${c.key}`, c])).values()];
  if (!unique.length) return new Set();
  const rows = await sql<{ workspace_id: string; cache_key: string }>`
    INSERT INTO llm_inflight (workspace_id, cache_key, owner, expires_at)
    VALUES ${sql.join(unique.map((c) => sql`(${c.workspaceId}, ${c.key}, ${owner}, ${expiresAt})`))}
    ON CONFLICT (workspace_id, cache_key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
    WHERE llm_inflight.owner = EXCLUDED.owner
       OR llm_inflight.expires_at < ${now}
       OR NOT EXISTS (SELECT 1 FROM engine_workers w WHERE w.id = llm_inflight.owner AND w.expires_at >= ${now})
    RETURNING workspace_id, cache_key`.execute(db);
  return new Set(rows.rows.map((r) => `${r.workspace_id}/${r.cache_key}`));
}

/** Drops `owner`'s claims on these requests (answered and stored, or failed). */
export async function releaseRequests(db: Db, claims: readonly InflightClaim[], owner: string): Promise<void> {
  if (!claims.length) return;
  await sql`
    DELETE FROM llm_inflight
    WHERE owner = ${owner} AND (workspace_id, cache_key) IN (${sql.join(claims.map((c) => sql`(${c.workspaceId}, ${c.key})`))})`.execute(db);
}
