import { sql } from 'kysely';
import { migrations } from './migrations.ts';
import { toNumber, type Db } from './store.ts';

/** Readiness: the database answers and every migration this build knows has run. Returns the problems, none when ready. */
export async function readinessProblems(db: Db): Promise<string[]> {
  try {
    // The migrator's own table (in the connection's schema: see migrate() in store.ts).
    const applied = new Set((await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db)).rows.map((r) => r.name));
    const missing = Object.keys(migrations).filter((name) => !applied.has(name));
    return missing.length ? [`migrations not applied: ${missing.join(', ')}`] : [];
  } catch (err) {
    return [`database unreachable: ${err instanceof Error ? err.message : String(err)}`];
  }
}

/** Deployment-wide gauges for /metrics, read at scrape time (each a small grouped count). */
export async function operationalCounts(db: Db, nowIso: string) {
  const tasks = await db.selectFrom('tasks').select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').execute();
  const pending = await db.selectFrom('task_items').select((eb) => eb.fn.countAll().as('n')).where('status', 'in', ['pending', 'running']).executeTakeFirst();
  const workers = await db.selectFrom('engine_workers').select((eb) => eb.fn.countAll().as('n')).where('expires_at', '>=', nowIso).executeTakeFirst();
  const documents = await db.selectFrom('datasources').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'processing').executeTakeFirst();
  return {
    tasksByStatus: tasks.map((t) => ({ status: t.status, count: toNumber(t.n) })),
    pendingItems: toNumber(pending?.n),
    liveWorkers: toNumber(workers?.n),
    documentsProcessing: toNumber(documents?.n),
  };
}
