import path from 'node:path';
import { projectRoot } from './project-root.ts';
import { StartupError } from './startup-error.ts';
import { serve, type ServerType } from '@hono/node-server';
import { publicBaseUrl, type Config } from './config.ts';
import { createEventBus } from './events.ts';
import { createApp } from './http/app.ts';
import { answerClientErrors } from './http/client-errors.ts';
import { createLinkSigner } from './http/signed-links.ts';
import { memoryRateCounter, postgresRateCounter, type Clock } from './http/rate-limit.ts';
import { createLogger, type Logger } from './logger.ts';
import { createBlobStore } from './providers/blob/select.ts';
import type { DatasetRecord } from './store/datasets.ts';
import { ensureSecret } from './store/settings.ts';
import { openStore } from './store/store.ts';
import { lockDataDir } from './store/data-dir-lock.ts';
import { readinessProblems } from './store/health.ts';
import { createMetrics } from './metrics.ts';
import type { Db } from './store/store.ts';
import { createEngine } from './engine/engine.ts';
import { createLlmCache } from './engine/cache.ts';
import { estimateCells } from './engine/estimate.ts';
import { createExecutors, type ExecutorDeps } from './engine/executors/index.ts';
import { createLlmRegistry } from './providers/llm/registry.ts';
import { createTaskService } from './features/tasks/tasks.service.ts';
import { registerTaskRoutes } from './features/tasks/tasks.routes.ts';
import { registerEventRoutes } from './features/events/events.routes.ts';
import { createCellService } from './features/cells/cells.service.ts';
import { registerCellRoutes } from './features/cells/cells.routes.ts';
import { createReviewService } from './features/review/review.service.ts';
import { registerReviewRoutes } from './features/review/review.routes.ts';
import { createViewService } from './features/views/views.service.ts';
import { registerViewRoutes } from './features/views/views.routes.ts';
import { createColumnService } from './features/columns/columns.service.ts';
import { registerColumnRoutes } from './features/columns/columns.routes.ts';
import { createDatasetAccess } from './features/datasets/dataset-access.ts';
import { createDatasetService } from './features/datasets/datasets.service.ts';
import { registerDatasetRoutes } from './features/datasets/datasets.routes.ts';
import { createDatasourceService } from './features/datasources/datasources.service.ts';
import { createDocumentService } from './features/datasources/documents.service.ts';
import { createExtractorPool } from './providers/documents/extractor-pool.ts';
import { registerDatasourceRoutes } from './features/datasources/datasources.routes.ts';
import { createKeyService } from './features/keys/keys.service.ts';
import { registerKeyRoutes } from './features/keys/keys.routes.ts';
import { createRowService } from './features/rows/rows.service.ts';
import { registerRowRoutes } from './features/rows/rows.routes.ts';
import { createWebhookService } from './features/webhooks/webhooks.service.ts';
import { registerWebhookRoutes } from './features/webhooks/webhooks.routes.ts';
import { createExportService } from './features/exports/exports.service.ts';
import { createFormatPool } from './features/exports/format-pool.ts';
import { registerExportRoutes } from './features/exports/exports.routes.ts';
import { registerMcpRoute } from './mcp/http.ts';
import { packageVersion } from './version.ts';
import { registerWebApp } from './http/web-app.ts';

/** Providers that replace the ones built from the configuration (tests and benchmarks: a fetcher that plays a public site; a clock for the rate-limit windows and the idempotency keys' 24 h). */
export type ProviderOverrides = Pick<ExecutorDeps, 'fetcher' | 'search'> & { clock?: Clock; logger?: Logger };

/** The composition root: config -> store -> providers -> services -> app. */
export async function buildApp(config: Readonly<Config>, logger: Logger = createLogger(config.logLevel), overrides: ProviderOverrides = {}) {
  const { clock = Date.now, logger: _logger, ...providers } = overrides;
  // The embedded database has one owner: a second server on the same data dir is refused here.
  const unlockDataDir = config.databaseUrl ? () => {} : lockDataDir(config.dataDir);
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, databaseSchema: config.databaseSchema });
  } catch (err) {
    unlockDataDir();
    throw err;
  }
  const events = createEventBus();
  // Cell-level progress goes on its own bus: domain-event listeners (webhooks) query the store per event.
  const live = createEventBus();
  // Shared by every node unless local: a link signed by one API process downloads from another.
  const blobs = createBlobStore(config, store);
  // The base of signed links is known once the server listens (PORT=0 picks a free port).
  let baseUrl = publicBaseUrl(config);
  const signer = createLinkSigner(await ensureSecret(store.db, 'link-signing'), () => baseUrl);
  const maxUploadBytes = config.maxUploadMb * 1024 * 1024;

  const keys = createKeyService({ store });
  const access = createDatasetAccess({ store });
  const documents = createDocumentService({ store, blobs, events, pool: createExtractorPool({ size: config.documentWorkers }), config, logger });
  const datasources = createDatasourceService({ store, blobs, events, signer, maxUploadBytes, onDocument: (d) => documents.enqueue(d) });
  const registry = createLlmRegistry({
    ...(config.openaiBaseUrl ? { openaiBaseUrl: config.openaiBaseUrl } : {}),
    ...(config.openaiApiKey ? { openaiApiKey: config.openaiApiKey } : {}),
    ...(config.anthropicBaseUrl ? { anthropicBaseUrl: config.anthropicBaseUrl } : {}),
    ...(config.anthropicApiKey ? { anthropicApiKey: config.anthropicApiKey } : {}),
    ...(config.ollamaBaseUrl ? { ollamaBaseUrl: config.ollamaBaseUrl } : {}),
    timeoutMs: config.llmTimeoutMs,
  });
  const executors = createExecutors({ store, blobs, config, logger, documents, ...providers });
  const metrics = createMetrics(store);
  const engine = createEngine({ store, events, live, registry, executors, config, logger, onCell: metrics.observeCell });
  // Set when SIGTERM starts the shutdown: /ready answers 503 so load balancers stop sending.
  const lifecycle = { draining: false };
  const llmCache = createLlmCache(store);
  const tasks = createTaskService({ store, access, engine, events, live, logger, estimate: (ctx, items) => estimateCells({ store, cache: llmCache, executors, defaultModel: config.model }, ctx, items) });
  const cancelActiveTask = (db: Db, dataset: DatasetRecord) => tasks.cancelActive(db, dataset);
  const webhooks = createWebhookService({ store, events, logger, allowPrivate: config.fetchAllowPrivate });
  const exportsService = createExportService({ store, access, blobs, events, signer, logger, formatPool: createFormatPool(config.exportThreads === undefined ? {} : { size: config.exportThreads }) });
  const datasets = createDatasetService({ store, access, datasources, events, cancelActiveTask, onDelete: [(db, id) => exportsService.filesToDropWith(db, id)] });

  const app = createApp({ store, keys, logger, signer, rateLimitPerMinute: config.rateLimitPerMinute, maxUploadBytes,
    // Counted in PostgreSQL when the database is shared, so N API processes together keep to the limit.
    onRequest: metrics.observeRequest,
    operations: { metrics: () => metrics.render(), metricsToken: config.metricsToken, readiness: async () => (lifecycle.draining ? ['shutting down'] : readinessProblems(store.db)) },
    rateLimits: { counter: store.dialect === 'postgres' ? postgresRateCounter(store) : memoryRateCounter(), clock, authFailuresPerMinute: config.authFailuresPerMinute, trustProxy: config.trustProxy }, downloads: { datasources: (id) => datasources.openFile(id), exports: (id) => exportsService.openFile(id) } });
  registerKeyRoutes(app, keys);
  registerDatasetRoutes(app, datasets);
  registerColumnRoutes(app, createColumnService({ access }), async (auth, datasetId, columnId) => ({ taskId: (await tasks.createBulk(auth, datasetId, { columnIds: [columnId] })).taskId }));
  registerRowRoutes(app, createRowService({ access }));
  registerCellRoutes(app, createCellService({ access, datasources }));
  registerReviewRoutes(app, createReviewService({ store, access, live }));
  registerViewRoutes(app, createViewService({ store, access }));
  registerDatasourceRoutes(app, datasources);
  registerExportRoutes(app, exportsService);
  registerWebhookRoutes(app, webhooks);
  registerTaskRoutes(app, tasks);
  const sse = registerEventRoutes(app, { access, live, latestTask: async (auth, datasetId) => (await tasks.list(auth, datasetId, 1, 1)).tasks[0] ?? null });
  registerMcpRoute(app, { keys, version: packageVersion() });
  // Last: the browser app answers the GET paths no route above took.
  registerWebApp(app as never, { webDir: path.join(projectRoot(), 'web') });

  const listeningOn = (port: number) => {
    baseUrl = publicBaseUrl({ ...config, port });
  };
  /** Closes the store, then gives the data dir up. */
  const closeStore = async () => {
    await store.close();
    unlockDataDir();
  };
  return { app, store, events, live, engine, metrics, lifecycle, tasks, sse, keys, datasets, datasources, documents, exports: exportsService, webhooks, signer, blobs, access, logger, listeningOn, closeStore };
}

/** The port is taken: one clear line for the operator, not a stack trace. */
export class PortInUseError extends StartupError {
  constructor(host: string, port: number) {
    super(`Port ${port} on ${host} is already in use; stop what listens there or set PORT to another port.`);
  }
}

function listen(app: { fetch: (req: Request) => Response | Promise<Response> }, host: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname: host }, () => {
      s.off('error', onError);
      resolve(s);
    });
    const onError = (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new PortInUseError(host, port) : err);
    s.once('error', onError);
  });
}

export async function startServer(config: Readonly<Config>, providers: ProviderOverrides = {}) {
  const built = await buildApp(config, providers.logger, providers);
  let server: ServerType;
  try {
    // Uploads a killed process left behind. With SQLite this process owns the data dir alone, so
    // everything unfinished is ours; on PostgreSQL other servers may be mid-upload, so only old ones.
    const unfinishedAge = config.databaseUrl ? 3600_000 : 0;
    await built.datasources.failInterrupted(unfinishedAge);
    await built.blobs.sweepPartial?.(unfinishedAge);

    // Listen before anything is created: a busy port must not leave a generated admin key
    // stored but never shown.
    server = await listen(built.app, config.host, config.port);
  } catch (err) {
    await built.documents.close();
    await built.closeStore();
    throw err;
  }
  answerClientErrors(server as import('node:http').Server);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  built.listeningOn(port);
  const bootstrap = await built.keys.bootstrap(config.adminKey);
  const stopExportCleanup = built.exports.startCleanup();
  const stopWebhooks = built.webhooks.start();
  if (config.workers === 'in-process') built.engine.start();
  // Documents whose extraction a stopped process left unfinished.
  await built.documents.resume();
  return {
    ...built,
    bootstrap,
    server,
    port,
    /**
     * Graceful stop (SIGTERM): /ready turns 503, the listener closes (no new connections; requests
     * in progress finish, idle keep-alive connections are closed), the engine finishes or hands
     * back the items it holds, then the store closes. Connections still open after 15 s are cut.
     */
    async close() {
      built.lifecycle.draining = true;
      built.sse.closeAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      const cut = setTimeout(() => 'closeAllConnections' in server && server.closeAllConnections(), 15_000);
      cut.unref();
      // Calls in flight finish and are written (or are handed back) before the store closes.
      await built.engine.stop();
      await built.documents.close();
      await closed;
      clearTimeout(cut);
      stopWebhooks();
      await stopExportCleanup();
      await built.closeStore();
    },
  };
}

/**
 * `cellwise worker`: the engine (and webhook deliveries) without the HTTP server, for scale-out
 * on PostgreSQL; run the API with CELLWISE_WORKERS=none and as many workers as you like.
 */
export async function startWorker(config: Readonly<Config>) {
  const built = await buildApp(config);
  const stopWebhooks = built.webhooks.start();
  built.engine.start();
  // A worker has no API server: its metrics (cells, LLM calls) are served here when asked for.
  const metricsServer = config.metricsPort !== undefined ? await serveMetrics(built.app.fetch, config.metricsPort, config.host) : undefined;
  return {
    ...built,
    metricsPort: metricsServer?.port,
    async close() {
      built.lifecycle.draining = true;
      await metricsServer?.close();
      await built.engine.stop();
      await built.documents.close();
      stopWebhooks();
      await built.closeStore();
    },
  };
}

/** GET /metrics and /ready of a worker, on a port of their own (the app answers nothing else useful there). */
async function serveMetrics(fetch: (req: Request) => Response | Promise<Response>, port: number, hostname: string) {
  const only = (req: Request) => (['/metrics', '/ready', '/health'].includes(new URL(req.url).pathname) ? fetch(req) : new Response('Not found', { status: 404 }));
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: only, port, hostname }, () => resolve(s));
  });
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
