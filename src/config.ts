import { z } from 'zod';

/**
 * The whole environment, read once at start. Every problem is reported together; nothing else
 * reads process.env. Explicit overrides (tests, the CLI) win over the environment.
 */
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes')]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const Config = z.object({
  port: int(0, 65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  dataDir: z.string().min(1).default('./data'),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /** Postgres schema to use (tests give each run its own); default is the connection's default. */
  databaseSchema: z.string().regex(/^[a-z_][a-z0-9_]*$/).optional(),
  adminKey: z.string().min(16, 'must be at least 16 characters').optional(),
  publicUrl: z.string().url().optional(),
  model: z.string().regex(/^[a-z0-9_-]+:.+$/, 'must look like provider:model').default('openai:gpt-4o-mini'),
  maxUploadMb: int(1, 10_000).default(100),
  rateLimitPerMinute: int(0, 1_000_000).default(600),
  /** Failed authentications per client address per minute before they are answered 429; 0 turns it off. */
  authFailuresPerMinute: int(0, 1_000_000).default(60),
  /** Behind a load balancer: take the client address from X-Forwarded-For (its first entry). */
  trustProxy: bool.default(false),
  fetchAllowPrivate: bool.default(false),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  openaiBaseUrl: z.string().url().optional(),
  openaiApiKey: z.string().min(1).optional(),
  anthropicBaseUrl: z.string().url().optional(),
  anthropicApiKey: z.string().min(1).optional(),
  ollamaBaseUrl: z.string().url().optional(),
  /** LLM calls in flight at once, per provider. */
  llmConcurrency: int(1, 10_000).default(8),
  /** Requests per minute per provider; unset means unlimited. */
  llmRpm: int(1, 1_000_000).optional(),
  /** A cap on this process's LLM calls in flight, below its share of llmConcurrency (scale-out: the same per-worker concurrency on every machine). */
  workerConcurrency: int(1, 10_000).optional(),
  llmTimeoutMs: int(100, 3_600_000).default(60_000),
  /** Tries per cell for retryable failures (429, 5xx, timeouts) before the cell ends in error. */
  llmMaxAttempts: int(1, 20).default(4),
  /** `in-process`: the server runs the engine; `none`: only separate workers do. */
  workers: z.enum(['in-process', 'none']).default('in-process'),
  /** How long a claimed cell stays owned by a worker without a heartbeat before another may take it. */
  taskLeaseMs: int(500, 3_600_000).default(60_000),
  /** An OSM PBF, GeoJSON or CSV of places, indexed on first use for offline places_count. */
  placesFile: z.string().min(1).optional(),
  overpassUrl: z.string().url().default('https://overpass-api.de/api/interpreter'),
  /** Overpass requests in flight per process: the public instance's etiquette is about two. */
  overpassConcurrency: int(1, 64).default(2),
  overpassTimeoutMs: int(1000, 600_000).default(30_000),
  /** A SearXNG-compatible JSON search endpoint for web_enrich's `query`; unset: no search. */
  searchUrl: z.string().url().optional(),
  /** web_enrich fetches: whole exchange (redirects and body), and connecting alone. */
  fetchTimeoutMs: int(100, 600_000).default(15_000),
  fetchConnectTimeoutMs: int(100, 600_000).default(5_000),
  /** Largest page body accepted (after decompression). */
  fetchMaxBytes: int(1_000, 1_000_000_000).default(5_000_000),
  /** How long a read page is reused instead of fetched again; 0 turns the page cache off. */
  fetchCacheMaxAgeS: int(0, 31_536_000).default(86_400),
  /** Politeness per host: requests in flight, and the least time between two request starts. */
  fetchHostConcurrency: int(1, 1_000).default(2),
  fetchHostDelayMs: int(0, 600_000).default(1_000),
  /** Sent with every fetch; robots.txt rules are matched against its product token (`cellwise`). */
  fetchUserAgent: z.string().min(1).default('cellwise/0.1 (self-hosted data enrichment; respects robots.txt)'),
  /** Threads extracting document text (PDF, DOCX, HTML, OCR), each one document at a time. */
  documentWorkers: int(1, 64).default(1),
  /** Threads turning CSV and JSON export pages into bytes (unset: one less than the cores, at most 2); 0 writes them on the main thread. */
  exportThreads: int(0, 16).optional(),
  /** Longest one document's extraction may take before it fails (and its thread is replaced). */
  documentTimeoutMs: int(1_000, 86_400_000).default(600_000),
  /** Documents with more pages fail with a clear reason instead of tying up a thread. */
  documentMaxPages: int(1, 100_000).default(2_000),
  /** doc_extraction: characters of document text per LLM call; longer documents are split into chunks. */
  docExtractionChunkChars: int(1_000, 2_000_000).default(48_000),
  /** doc_extraction: chunks sent per document at most; beyond it the most relevant are chosen (and the cell says which pages). */
  docExtractionMaxChunks: int(1, 1_000).default(8),
  /** Where uploads, documents and exports live: unset picks s3 when a bucket is set, else postgres with DATABASE_URL, else local files. */
  blobStore: z.enum(['local', 'postgres', 's3']).optional(),
  /** An S3-compatible object store shared by every node (MinIO, R2, AWS ...). */
  s3Endpoint: z.string().url().optional(),
  s3Bucket: z.string().min(1).optional(),
  s3Region: z.string().min(1).default('us-east-1'),
  s3AccessKeyId: z.string().min(1).optional(),
  s3SecretAccessKey: z.string().min(1).optional(),
  s3ForcePathStyle: bool.default(false),
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: z.string().min(16, 'must be at least 16 characters').optional(),
  /** `cellwise worker` (no API server) serves GET /metrics on this port when set. */
  metricsPort: int(0, 65535).optional(),
});
export type Config = z.infer<typeof Config>;

const ENV_NAMES: Record<keyof Config, string> = {
  port: 'PORT',
  host: 'HOST',
  dataDir: 'CELLWISE_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  databaseSchema: 'CELLWISE_DATABASE_SCHEMA',
  adminKey: 'CELLWISE_ADMIN_KEY',
  publicUrl: 'CELLWISE_PUBLIC_URL',
  model: 'CELLWISE_MODEL',
  maxUploadMb: 'CELLWISE_MAX_UPLOAD_MB',
  rateLimitPerMinute: 'CELLWISE_RATE_LIMIT_PER_MINUTE',
  authFailuresPerMinute: 'CELLWISE_AUTH_FAILURES_PER_MINUTE',
  trustProxy: 'CELLWISE_TRUST_PROXY',
  fetchAllowPrivate: 'CELLWISE_FETCH_ALLOW_PRIVATE',
  logLevel: 'CELLWISE_LOG_LEVEL',
  openaiBaseUrl: 'OPENAI_BASE_URL',
  openaiApiKey: 'OPENAI_API_KEY',
  anthropicBaseUrl: 'ANTHROPIC_BASE_URL',
  anthropicApiKey: 'ANTHROPIC_API_KEY',
  ollamaBaseUrl: 'OLLAMA_BASE_URL',
  llmConcurrency: 'CELLWISE_LLM_CONCURRENCY',
  llmRpm: 'CELLWISE_LLM_RPM',
  workerConcurrency: 'CELLWISE_WORKER_CONCURRENCY',
  llmTimeoutMs: 'CELLWISE_LLM_TIMEOUT_MS',
  llmMaxAttempts: 'CELLWISE_LLM_MAX_ATTEMPTS',
  workers: 'CELLWISE_WORKERS',
  taskLeaseMs: 'CELLWISE_TASK_LEASE_MS',
  placesFile: 'CELLWISE_PLACES_FILE',
  overpassUrl: 'CELLWISE_OVERPASS_URL',
  overpassConcurrency: 'CELLWISE_OVERPASS_CONCURRENCY',
  overpassTimeoutMs: 'CELLWISE_OVERPASS_TIMEOUT_MS',
  searchUrl: 'CELLWISE_SEARCH_URL',
  fetchTimeoutMs: 'CELLWISE_FETCH_TIMEOUT_MS',
  fetchConnectTimeoutMs: 'CELLWISE_FETCH_CONNECT_TIMEOUT_MS',
  fetchMaxBytes: 'CELLWISE_FETCH_MAX_BYTES',
  fetchCacheMaxAgeS: 'CELLWISE_FETCH_CACHE_MAX_AGE_S',
  fetchHostConcurrency: 'CELLWISE_FETCH_HOST_CONCURRENCY',
  fetchHostDelayMs: 'CELLWISE_FETCH_HOST_DELAY_MS',
  fetchUserAgent: 'CELLWISE_FETCH_USER_AGENT',
  documentWorkers: 'CELLWISE_DOCUMENT_WORKERS',
  exportThreads: 'CELLWISE_EXPORT_THREADS',
  documentTimeoutMs: 'CELLWISE_DOCUMENT_TIMEOUT_MS',
  documentMaxPages: 'CELLWISE_DOCUMENT_MAX_PAGES',
  docExtractionChunkChars: 'CELLWISE_DOC_EXTRACTION_CHUNK_CHARS',
  docExtractionMaxChunks: 'CELLWISE_DOC_EXTRACTION_MAX_CHUNKS',
  blobStore: 'CELLWISE_BLOB_STORE',
  s3Endpoint: 'CELLWISE_S3_ENDPOINT',
  s3Bucket: 'CELLWISE_S3_BUCKET',
  s3Region: 'CELLWISE_S3_REGION',
  s3AccessKeyId: 'CELLWISE_S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'CELLWISE_S3_SECRET_ACCESS_KEY',
  s3ForcePathStyle: 'CELLWISE_S3_FORCE_PATH_STYLE',
  metricsToken: 'CELLWISE_METRICS_TOKEN',
  metricsPort: 'CELLWISE_METRICS_PORT',
};

export class ConfigError extends Error {}

/** Reads the environment (and explicit overrides) into a frozen Config, or throws listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Readonly<Config> {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = Config.safeParse({ ...raw, ...overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]) as keyof Config;
      return `  ${ENV_NAMES[key] ?? key}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(parsed.data);
}

export function publicBaseUrl(config: Config): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/$/, '');
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

/**
 * What the CLI's remote verbs and `cellwise mcp` read: where a running cellwise listens and the
 * API key to send (flags --url/--key/--key-file win over these), and NO_COLOR (any value).
 */
export const ClientConfig = z.object({
  url: z.string().url('CELLWISE_URL must be a URL such as http://127.0.0.1:8080').default('http://127.0.0.1:8080'),
  key: z.string().min(1).optional(),
  noColor: z.boolean(),
});
export type ClientConfig = z.infer<typeof ClientConfig>;

export function loadClientConfig(env: Record<string, string | undefined> = process.env): Readonly<ClientConfig> {
  const parsed = ClientConfig.safeParse({ url: env.CELLWISE_URL || undefined, key: env.CELLWISE_KEY || undefined, noColor: Boolean(env.NO_COLOR) });
  if (!parsed.success) throw new ConfigError(`Invalid configuration:\n${parsed.error.issues.map((i) => `  ${i.message}`).join('\n')}`);
  return Object.freeze(parsed.data);
}
