import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';
import type { AppEnv } from './env.ts';

/**
 * A fixed one-minute window per API key, in this process's memory. With several server processes
 * each enforces the limit on its own share of traffic; a shared counter would cost a database
 * write per request, which the limit is meant to protect against.
 */
export function rateLimitMiddleware(perMinute: number): MiddlewareHandler<AppEnv> {
  const windows = new Map<string, { start: number; count: number }>();
  let lastSweep = Date.now();
  return async (c, next) => {
    const auth = c.get('auth');
    if (perMinute === 0 || !auth) return next();
    const t = Date.now();
    const windowStart = t - (t % 60_000);
    if (t - lastSweep > 60_000) {
      for (const [k, w] of windows) if (w.start < windowStart) windows.delete(k);
      lastSweep = t;
    }
    let w = windows.get(auth.keyId);
    if (!w || w.start !== windowStart) windows.set(auth.keyId, (w = { start: windowStart, count: 0 }));
    w.count++;
    const reset = Math.ceil((windowStart + 60_000) / 1000);
    c.header('X-RateLimit-Limit', String(perMinute));
    c.header('X-RateLimit-Remaining', String(Math.max(0, perMinute - w.count)));
    c.header('X-RateLimit-Reset', String(reset));
    if (w.count > perMinute) {
      const retryAfter = String(Math.max(1, reset - Math.floor(t / 1000)));
      throw new ApiError('RATE_LIMITED', `Rate limit of ${perMinute} requests per minute exceeded`, { limit: perMinute, retryAfter: Number(retryAfter) }, { 'Retry-After': retryAfter });
    }
    await next();
  };
}
