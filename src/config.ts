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
  llmTimeoutMs: int(100, 3_600_000).default(60_000),
  /** Tries per cell for retryable failures (429, 5xx, timeouts) before the cell ends in error. */
  llmMaxAttempts: int(1, 20).default(4),
  /** `in-process`: the server runs the engine; `none`: only separate workers do. */
  workers: z.enum(['in-process', 'none']).default('in-process'),
  /** How long a claimed cell stays owned by a worker without a heartbeat before another may take it. */
  taskLeaseMs: int(500, 3_600_000).default(60_000),
  /** Threads extracting document text (PDF, DOCX, HTML, OCR), each one document at a time. */
  documentWorkers: int(1, 64).default(1),
  /** Longest one document's extraction may take before it fails (and its thread is replaced). */
  documentTimeoutMs: int(1_000, 86_400_000).default(600_000),
  /** Documents with more pages fail with a clear reason instead of tying up a thread. */
  documentMaxPages: int(1, 100_000).default(2_000),
  /** doc_extraction: characters of document text per LLM call; longer documents are split into chunks. */
  docExtractionChunkChars: int(1_000, 2_000_000).default(48_000),
  /** doc_extraction: chunks sent per document at most; beyond it the most relevant are chosen (and the cell says which pages). */
  docExtractionMaxChunks: int(1, 1_000).default(8),
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
  fetchAllowPrivate: 'CELLWISE_FETCH_ALLOW_PRIVATE',
  logLevel: 'CELLWISE_LOG_LEVEL',
  openaiBaseUrl: 'OPENAI_BASE_URL',
  openaiApiKey: 'OPENAI_API_KEY',
  anthropicBaseUrl: 'ANTHROPIC_BASE_URL',
  anthropicApiKey: 'ANTHROPIC_API_KEY',
  ollamaBaseUrl: 'OLLAMA_BASE_URL',
  llmConcurrency: 'CELLWISE_LLM_CONCURRENCY',
  llmRpm: 'CELLWISE_LLM_RPM',
  llmTimeoutMs: 'CELLWISE_LLM_TIMEOUT_MS',
  llmMaxAttempts: 'CELLWISE_LLM_MAX_ATTEMPTS',
  workers: 'CELLWISE_WORKERS',
  taskLeaseMs: 'CELLWISE_TASK_LEASE_MS',
  documentWorkers: 'CELLWISE_DOCUMENT_WORKERS',
  documentTimeoutMs: 'CELLWISE_DOCUMENT_TIMEOUT_MS',
  documentMaxPages: 'CELLWISE_DOCUMENT_MAX_PAGES',
  docExtractionChunkChars: 'CELLWISE_DOC_EXTRACTION_CHUNK_CHARS',
  docExtractionMaxChunks: 'CELLWISE_DOC_EXTRACTION_MAX_CHUNKS',
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
