import { sql } from 'kysely';
import type { Db } from './store.ts';

/**
 * Request counters shared by every API process of a PostgreSQL deployment: one row per
 * (bucket, window), incremented in one round trip (an upsert returning the new count).
 */
export async function hitRateWindow(db: Db, bucket: string, windowStart: number): Promise<number> {
  const row = await sql<{ count: number }>`
    INSERT INTO rate_limit_windows (bucket, window_start, count) VALUES (${bucket}, ${windowStart}, 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limit_windows.count + 1
    RETURNING count`.execute(db);
  return Number(row.rows[0]!.count);
}

/** Drops windows that ended before `before` (epoch ms). */
export async function dropRateWindows(db: Db, before: number): Promise<void> {
  await sql`DELETE FROM rate_limit_windows WHERE window_start < ${before}`.execute(db);
}
