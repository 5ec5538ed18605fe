import { timingSafeEqual, createHash } from 'node:crypto';
import type { Hono } from 'hono';
import { ApiError } from './errors.ts';

export type OperationsDeps = {
  /** The Prometheus text exposition. */
  metrics: () => Promise<string>;
  /** CELLWISE_METRICS_TOKEN: when set, /metrics needs `Authorization: Bearer <token>`. */
  metricsToken?: string | undefined;
  /** Why this process should not get traffic now (database, migrations, shutting down); empty when ready. */
  readiness: () => Promise<string[]>;
};

/**
 * Probes and metrics, outside /api/v2 (no API key, no rate limit): GET /ready for load balancers
 * and orchestrators (503 with the reasons until the database answers and every migration ran, and
 * again once SIGTERM started the shutdown), and GET /metrics for Prometheus.
 */
export function registerOperationRoutes(app: Hono<never>, deps: OperationsDeps) {
  app.get('/ready', async (c) => {
    const problems = await deps.readiness();
    return c.json(problems.length ? { status: 'unavailable', problems } : { status: 'ready' }, problems.length ? 503 : 200);
  });
  app.get('/metrics', async (c) => {
    if (deps.metricsToken && !sameSecret(/^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '', deps.metricsToken)) {
      throw new ApiError('UNAUTHORIZED', 'GET /metrics needs Authorization: Bearer <CELLWISE_METRICS_TOKEN>');
    }
    return c.body(await deps.metrics(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });
}

/** Constant-time comparison (of digests, so lengths do not leak either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
