import { randomBytes } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from '../logger.ts';
import { runInRequest } from '../request-context.ts';
import type { AppEnv } from './env.ts';

/** A request's outcome, for the access log and the HTTP metrics. */
export type RequestOutcome = { method: string; route: string; status: number; durationMs: number };

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/**
 * The outermost middleware: a request id (the client's X-Request-Id when it is a plain token, else
 * a new one; echoed back), the request run in its context (every log line and task it creates
 * carries the id), and one info line when it ends: method, route pattern, status, duration and
 * key id. Never the key, the query string or a body.
 */
export function requestLogMiddleware(logger: Logger, onDone: (outcome: RequestOutcome) => void = () => {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : `req_${randomBytes(8).toString('hex')}`;
    const started = performance.now();
    await runInRequest(requestId, async () => {
      // Set before the handler, so responses made through the context carry it from the start. A
      // header set after one is made rebuilds it through the platform Response (hono reads its
      // body), which costs a 1 MB page about 2 ms. Only a Response made outside the context (an
      // idempotent replay, /mcp) still needs it added afterwards.
      c.header('X-Request-Id', requestId);
      await next();
      if (c.res.headers.get('X-Request-Id') !== requestId) c.header('X-Request-Id', requestId);
      // The route that answered (the last handler dispatched), not the last one matched: the web
      // app's catch-all GET matches every path.
      const outcome = { method: c.req.method, route: routePath(c) || 'unmatched', status: c.res.status, durationMs: Math.round((performance.now() - started) * 10) / 10 };
      onDone(outcome);
      logger.info('request', { ...outcome, keyId: c.get('auth')?.keyId ?? null });
    });
  };
}
