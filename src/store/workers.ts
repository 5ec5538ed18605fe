import type { Db } from './store.ts';

/**
 * The engine processes alive now (a server's in-process engine, each `cellwise worker`). A process
 * renews its row every heartbeat and deletes it when it stops; a crashed one's row expires. The
 * per-provider LLM limits are split between the rows alive (engine/shares.ts).
 */
export type WorkerRecord = { id: string; startedAt: string; expiresAt: string };

/** Registers or renews `id` until `expiresAt`, drops expired rows, and returns the live ones, oldest first. */
export async function heartbeatWorker(db: Db, w: WorkerRecord, now: string): Promise<WorkerRecord[]> {
  await db
    .insertInto('engine_workers')
    .values({ id: w.id, started_at: w.startedAt, expires_at: w.expiresAt })
    .onConflict((oc) => oc.column('id').doUpdateSet({ expires_at: w.expiresAt }))
    .execute();
  await db.deleteFrom('engine_workers').where('expires_at', '<', now).execute();
  const rows = await db.selectFrom('engine_workers').selectAll().orderBy('started_at').orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, startedAt: r.started_at, expiresAt: r.expires_at }));
}

export async function removeWorker(db: Db, id: string): Promise<void> {
  await db.deleteFrom('engine_workers').where('id', '=', id).execute();
}
