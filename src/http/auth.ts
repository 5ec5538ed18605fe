import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from './errors.ts';
import type { AppEnv } from './env.ts';
import { hasScope, type KeyService } from '../features/keys/keys.service.ts';
import type { Scope } from '../store/workspaces.ts';

const PUBLIC_PATHS = new Set(['/api/v2/openapi.json']);
const ADMIN_PREFIXES = ['/api/v2/keys', '/api/v2/workspaces'];

/** The scope a request needs: instance to create workspaces, admin for keys, read for reads, else write. */
export function requiredScope(method: string, path: string): Scope {
  if (path === '/api/v2/workspaces' || path.startsWith('/api/v2/workspaces/')) return 'instance';
  if (ADMIN_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))) return 'admin';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** `onFailure` turns a failed authentication into the error to answer (the per-address throttle, rate-limit.ts). */
export function authMiddleware(keys: KeyService, onFailure: (c: Context, err: ApiError) => Promise<ApiError> = async (_c, err) => err): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path)) return next();
    const auth = await keys.authenticate(c.req.header('authorization')).catch(async (err: unknown) => {
      throw err instanceof ApiError && err.code === 'UNAUTHORIZED' ? await onFailure(c, err) : err;
    });
    const needed = requiredScope(c.req.method, c.req.path);
    if (!hasScope(auth.scopes, needed)) {
      throw new ApiError('ACCESS_DENIED', `This API key lacks the ${needed} scope`, { requiredScope: needed, scopes: auth.scopes });
    }
    c.set('auth', auth);
    await next();
  };
}
