import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config.ts';
import { startServer, type ProviderOverrides } from '../../src/main.ts';

export const ADMIN_KEY = 'cw_test_admin_key_0123456789abcdef';

/** The backend a test run uses: CELLWISE_TEST_BACKEND=postgres with CELLWISE_TEST_DATABASE_URL, else SQLite. */
export function testBackend(): { kind: 'sqlite' } | { kind: 'postgres'; url: string } {
  if (process.env.CELLWISE_TEST_BACKEND === 'postgres') {
    const url = process.env.CELLWISE_TEST_DATABASE_URL;
    if (!url) throw new Error('CELLWISE_TEST_BACKEND=postgres needs CELLWISE_TEST_DATABASE_URL');
    return { kind: 'postgres', url };
  }
  return { kind: 'sqlite' };
}

/** A fresh database for one test app: a temp folder (SQLite) or its own schema (PostgreSQL). */
export async function freshDatabase(): Promise<{ dataDir: string; databaseUrl?: string; databaseSchema?: string; drop(): Promise<void> }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-test-'));
  const backend = testBackend();
  if (backend.kind === 'sqlite') return { dataDir, drop: () => rm(dataDir, { recursive: true, force: true }) };
  const schema = `t_${randomBytes(6).toString('hex')}`;
  return {
    dataDir,
    databaseUrl: backend.url,
    databaseSchema: schema,
    async drop() {
      const client = new pg.Client({ connectionString: backend.url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export type ApiResponse<T = any> = { status: number; body: T; headers: Headers };
export type TestApp = Awaited<ReturnType<typeof startTestApp>>;

/** Starts the real server on an ephemeral port with a fresh database; talk to it over HTTP. */
export async function startTestApp(overrides: Partial<Config> = {}, providers: ProviderOverrides = {}) {
  const db = await freshDatabase();
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', dataDir: db.dataDir, adminKey: ADMIN_KEY, logLevel: 'error', rateLimitPerMinute: 0, ...(db.databaseUrl ? { databaseUrl: db.databaseUrl, databaseSchema: db.databaseSchema } : {}), ...overrides });
  const running = await startServer(config, providers);
  const baseUrl = `http://127.0.0.1:${running.port}`;

  async function request<T = any>(method: string, urlPath: string, options: { body?: unknown; key?: string | null; headers?: Record<string, string>; form?: FormData; raw?: string | Uint8Array } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const key = options.key === undefined ? ADMIN_KEY : options.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | Uint8Array | FormData | undefined;
    if (options.form) body = options.form;
    else if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.body);
    }
    const res = await fetch(`${baseUrl}${urlPath}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  return {
    baseUrl,
    running,
    config,
    request,
    get: <T = any>(p: string, o?: Parameters<typeof request>[2]) => request<T>('GET', p, o),
    post: <T = any>(p: string, body?: unknown, o?: Parameters<typeof request>[2]) => request<T>('POST', p, { ...o, body }),
    patch: <T = any>(p: string, body?: unknown, o?: Parameters<typeof request>[2]) => request<T>('PATCH', p, { ...o, body }),
    put: <T = any>(p: string, body?: unknown, o?: Parameters<typeof request>[2]) => request<T>('PUT', p, { ...o, body }),
    del: <T = any>(p: string, body?: unknown, o?: Parameters<typeof request>[2]) => request<T>('DELETE', p, { ...o, body }),
    /** A multipart upload of in-memory files. */
    upload: <T = any>(p: string, files: { field?: string; name: string; content: string | Uint8Array; type?: string }[], fields: Record<string, string> = {}, o?: Parameters<typeof request>[2]) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      for (const f of files) form.append(f.field ?? 'file', new Blob([f.content], { type: f.type ?? 'application/octet-stream' }), f.name);
      return request<T>('POST', p, { ...o, form });
    },
    async close() {
      await running.close();
      await db.drop();
    },
  };
}

/** Asserts an error response: status and code (never the message). */
export function expectError(res: ApiResponse, status: number, code: string): void {
  if (res.status !== status || res.body?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.body)}`);
  }
  if (typeof res.body.error !== 'string' || typeof res.body.details !== 'object') throw new Error(`error body has the wrong shape: ${JSON.stringify(res.body)}`);
}
