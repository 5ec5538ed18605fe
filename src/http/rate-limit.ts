import type { Context, MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Store } from '../store/store.ts';
import { dropRateWindows, hitRateWindow } from '../store/rate-limits.ts';
import { ApiError } from './errors.ts';
import type { AppEnv } from './env.ts';

/** Milliseconds since the epoch; injected so tests control the windows. */
export type Clock = () => number;
const WINDOW_MS = 60_000;

/**
 * Where request counts of fixed one-minute windows are kept. `hit` adds one request to a bucket's
 * window and returns the window's count so far.
 */
export type RateCounter = { hit(bucket: string, windowStart: number): Promise<number> };

/**
 * In this process's memory: SQLite deployments are one process. Only the current window's counts
 * are kept: a new window starts every bucket from zero and lets the last one's counts go, so the
 * memory held is one minute's buckets whatever the number of keys and addresses seen.
 */
export function memoryRateCounter(): RateCounter {
  let window = { start: Number.NaN, counts: new Map<string, number>() };
  return {
    async hit(bucket, windowStart) {
      if (windowStart !== window.start) window = { start: windowStart, counts: new Map() };
      const n = (window.counts.get(bucket) ?? 0) + 1;
      window.counts.set(bucket, n);
      return n;
    },
  };
}

/**
 * In PostgreSQL, so that N API processes together keep to the limit (one upsert per request, on
 * an UNLOGGED table; see docs/scaling.md for its measured cost). Windows older than the previous
 * one are dropped now and then by whichever process gets there.
 */
export function postgresRateCounter(store: Store): RateCounter {
  let lastSweep = 0;
  return {
    async hit(bucket, windowStart) {
      if (windowStart > lastSweep) {
        lastSweep = windowStart;
        void dropRateWindows(store.db, windowStart - WINDOW_MS).catch(() => {});
      }
      return hitRateWindow(store.db, bucket, windowStart);
    },
  };
}

/** Counts one request of `bucket` and returns the X-RateLimit-* headers, and Retry-After when over. */
async function count(counter: RateCounter, clock: Clock, bucket: string, limit: number) {
  const t = clock();
  const windowStart = t - (t % WINDOW_MS);
  const n = await counter.hit(bucket, windowStart);
  const reset = Math.ceil((windowStart + WINDOW_MS) / 1000);
  const headers: Record<string, string> = { 'X-RateLimit-Limit': String(limit), 'X-RateLimit-Remaining': String(Math.max(0, limit - n)), 'X-RateLimit-Reset': String(reset) };
  if (n <= limit) return { over: false, headers };
  return { over: true, headers: { ...headers, 'Retry-After': String(Math.max(1, reset - Math.floor(t / 1000))) } };
}

/** A fixed one-minute window per API key (after authentication). */
export function rateLimitMiddleware({ perMinute, counter, clock }: { perMinute: number; counter: RateCounter; clock: Clock }): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const auth = c.get('auth');
    if (perMinute === 0 || !auth) return next();
    const { over, headers } = await count(counter, clock, `key:${auth.keyId}`, perMinute);
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    if (over) throw new ApiError('RATE_LIMITED', `Rate limit of ${perMinute} requests per minute exceeded`, { limit: perMinute, retryAfter: Number(headers['Retry-After']) }, headers);
    await next();
  };
}

/**
 * Failed authentications per client address: past `perMinute` in a window, a failed attempt is
 * answered 429 RATE_LIMITED instead of 401 (valid keys from the same address are never held
 * back: the key is checked first). Returns the error to throw for one failed attempt.
 */
export function authFailureLimiter({ perMinute, counter, clock, trustProxy }: { perMinute: number; counter: RateCounter; clock: Clock; trustProxy: boolean }) {
  return async (c: Context, failure: ApiError): Promise<ApiError> => {
    if (perMinute === 0) return failure;
    const { over, headers } = await count(counter, clock, `auth-fail:${clientAddress(c, trustProxy)}`, perMinute);
    if (over) return new ApiError('RATE_LIMITED', `Too many failed authentications from this address: at most ${perMinute} per minute`, { limit: perMinute, retryAfter: Number(headers['Retry-After']) }, headers);
    return new ApiError(failure.code, failure.message, failure.details, { ...failure.headers, ...headers });
  };
}

/** The client's address: the socket's peer, or behind a trusted proxy the first X-Forwarded-For entry. */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
