import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError, InvalidParametersError } from './errors.ts';
import type { AppEnv } from './env.ts';
import type { Store } from '../store/store.ts';
import * as idem from '../store/idempotency.ts';

const TTL_MS = 24 * 3600 * 1000;

/**
 * Idempotency-Key on POST, PUT and PATCH: for 24 h the same key with the same method, path and body
 * replays the first response; another body is IDEMPOTENCY_KEY_CONFLICT. The key is claimed before
 * the handler runs, so two concurrent retries cannot both execute. Server errors release the key
 * so that the client can retry. The body is buffered to hash it, which only happens when the
 * client asked for idempotency. `clock` (milliseconds since the epoch) dates the keys; tests inject it.
 */
export function idempotencyMiddleware(store: Store, clock: () => number = Date.now): MiddlewareHandler<AppEnv> {
  let lastPurge = 0;
  return async (c, next) => {
    const idemKey = c.req.header('idempotency-key');
    if (!idemKey || !['POST', 'PUT', 'PATCH'].includes(c.req.method)) return next();
    if (idemKey.length > 255) throw new InvalidParametersError([{ path: 'header.idempotency-key', message: 'must be at most 255 characters' }]);
    const { keyId } = c.get('auth');
    const body = Buffer.from(await c.req.raw.clone().arrayBuffer());
    const requestHash = createHash('sha256').update(`${c.req.method} ${c.req.path}\n`).update(body).digest('hex');
    const t = clock();
    if (t - lastPurge > 3600_000) {
      lastPurge = t;
      await idem.purgeIdempotencyKeys(store.db, new Date(t - TTL_MS).toISOString());
    }

    const claimed = await idem.claimIdempotencyKey(store.db, { keyId, idemKey, method: c.req.method, path: c.req.path, requestHash, createdAt: new Date(t).toISOString() });
    if (!claimed) {
      const prior = await idem.findIdempotencyKey(store.db, keyId, idemKey);
      if (!prior) throw new ApiError('IDEMPOTENCY_KEY_CONFLICT', 'Idempotency key was released concurrently; retry');
      if (prior.requestHash !== requestHash) throw new ApiError('IDEMPOTENCY_KEY_CONFLICT', 'Idempotency-Key was already used with a different request', { idempotencyKey: idemKey });
      if (prior.statusCode === idem.IN_FLIGHT) throw new ApiError('IDEMPOTENCY_KEY_CONFLICT', 'A request with this Idempotency-Key is still in progress', { idempotencyKey: idemKey });
      return new Response(prior.responseBody, { status: prior.statusCode, headers: { 'content-type': prior.contentType, 'idempotent-replayed': 'true' } });
    }

    try {
      await next();
    } catch (err) {
      await idem.releaseIdempotencyKey(store.db, keyId, idemKey);
      throw err;
    }
    // hono's compose hands errors to onError before we see them, so c.res may be an error response.
    if (c.res.status >= 500) {
      await idem.releaseIdempotencyKey(store.db, keyId, idemKey);
      return;
    }
    const text = await c.res.clone().text();
    await idem.completeIdempotencyKey(store.db, keyId, idemKey, { statusCode: c.res.status, body: text, contentType: c.res.headers.get('content-type') ?? 'application/json' });
  };
}
