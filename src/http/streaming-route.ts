import type { RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { App, AppEnv } from './env.ts';

/**
 * Registers a route whose body the handler streams itself (multipart uploads). The route still
 * appears in the OpenAPI document, but no validator buffers or parses the body first.
 */
export function registerStreamingRoute(app: App, route: RouteConfig, handler: (c: Context<AppEnv>) => Promise<Response>) {
  app.openAPIRegistry.registerPath(route);
  const path = route.path.replace(/\{(\w+)\}/g, ':$1');
  app.on(route.method.toUpperCase(), path, handler);
}
