import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { stream } from 'hono/streaming';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/store.ts';
import type { KeyService } from '../features/keys/keys.service.ts';
import { ApiError } from './errors.ts';
import { authMiddleware } from './auth.ts';
import { registerDocs } from './docs.ts';
import type { AppEnv } from './env.ts';
import { createErrorHandler } from './error-handler.ts';
import { idempotencyMiddleware } from './idempotency.ts';
import { inputRulesMiddleware } from './input-rules.ts';
import { authFailureLimiter, rateLimitMiddleware, type Clock, type RateCounter } from './rate-limit.ts';
import { requestLogMiddleware, type RequestOutcome } from './request-log.ts';
import { registerOperationRoutes, type OperationsDeps } from './operations.ts';
import type { LinkSigner } from './signed-links.ts';
import { validationHook } from './validation.ts';

export type Download = { stream: NodeJS.ReadableStream; fileName: string; contentType: string; size: number };
/** A kind of signed download (datasources, exports, ...) and how to open the file it names. */
export type DownloadSource = (id: string) => Promise<Download>;

export type AppDeps = {
  store: Store;
  keys: KeyService;
  logger: Logger;
  signer: LinkSigner;
  rateLimitPerMinute: number;
  maxUploadBytes: number;
  downloads: Record<string, DownloadSource>;
  /** Where rate-limit windows are counted (PostgreSQL when several API processes share a database), and their clock. */
  rateLimits: { counter: RateCounter; clock: Clock; authFailuresPerMinute: number; trustProxy: boolean };
  /** Called with every finished request (metrics). */
  onRequest?: (outcome: RequestOutcome) => void;
  /** GET /ready and GET /metrics. */
  operations?: OperationsDeps;
};

/**
 * The app factory: middleware in order (request log, errors, auth with its failure throttle, rate limit, idempotency), the docs, signed
 * downloads; feature routes are registered on the returned app by the composition root.
 */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use('*', requestLogMiddleware(deps.logger, deps.onRequest));
  app.onError(createErrorHandler(deps.logger));
  app.notFound((c) => c.json({ error: `No route for ${c.req.method} ${c.req.path}`, code: 'NOT_FOUND', details: {} }, 404));

  app.get('/health', (c) => c.json({ status: 'ok' }));
  if (deps.operations) registerOperationRoutes(app as never, deps.operations);
  registerDocs(app as never);

  app.use('/api/v2/*', authMiddleware(deps.keys, authFailureLimiter({ perMinute: deps.rateLimits.authFailuresPerMinute, ...deps.rateLimits })));
  app.use('/api/v2/*', rateLimitMiddleware({ perMinute: deps.rateLimitPerMinute, ...deps.rateLimits }));
  app.use('/api/v2/*', async (c, next) => {
    // JSON bodies are capped like uploads; multipart uploads are capped per file while streaming.
    if (!/^application\/json/i.test(c.req.header('content-type') ?? '')) return next();
    const tooLarge = () => new ApiError('PAYLOAD_TOO_LARGE', `Request body exceeds ${Math.round(deps.maxUploadBytes / 1048576)} MB`, { maxBytes: deps.maxUploadBytes });
    if (Number(c.req.header('content-length') ?? 0) > deps.maxUploadBytes) {
      // Read the body to its end before answering: a server that answers mid-upload and closes
      // leaves most HTTP clients with a broken connection instead of the 413.
      for await (const _chunk of c.req.raw.body ?? []) void _chunk;
      throw tooLarge();
    }
    return bodyLimit({ maxSize: deps.maxUploadBytes, onError: () => { throw tooLarge(); } })(c, next);
  });
  app.use('/api/v2/*', idempotencyMiddleware(deps.store, deps.rateLimits.clock));
  app.use('/api/v2/*', inputRulesMiddleware());

  app.get('/downloads/:kind/:id', async (c) => {
    const { kind, id } = c.req.param();
    const open = deps.downloads[kind];
    if (!open) return c.notFound();
    deps.signer.verify(kind, id, c.req.query('expires'), c.req.query('signature'));
    const file = await open(id);
    c.header('content-type', file.contentType);
    c.header('content-length', String(file.size));
    c.header('content-disposition', `attachment; filename="${file.fileName.replace(/["\\\r\n]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.fileName)}`);
    return stream(c, async (s) => {
      for await (const chunk of file.stream) await s.write(chunk as Uint8Array);
    });
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'An API key: Authorization: Bearer <key>' });
  app.doc31('/api/v2/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'cellwise', version: '2.0.0', description: 'The Claro v2 datasets API, self-hosted. Errors are {error, code, details}.', license: { name: 'MIT', url: 'https://opensource.org/license/mit' } },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
  });
  return app;
}
