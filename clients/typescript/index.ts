/**
 * The cellwise TypeScript client: openapi-fetch over the types generated from the server's
 * OpenAPI document (schema.ts, `npm run client:generate`), plus a few typed helpers for what
 * scripts do most: upload a file, run a task and wait, read every row, follow live events,
 * download an export.
 *
 * Plain TypeScript with relative imports and no build step: the CLI, the MCP server and the web
 * app import this file directly. Works wherever `fetch` does (Node 20+, browsers).
 */
import createClient from 'openapi-fetch';
import type { components, operations, paths } from './schema.ts';

export type { components, operations, paths };
export type Schemas = components['schemas'];
export type Dataset = Schemas['Dataset'];
export type DatasetDetail = Schemas['DatasetDetail'];
export type Column = Schemas['Column'];
export type Cell = Schemas['Cell'];
export type Task = Schemas['Task'];
export type TaskEstimate = Schemas['TaskEstimate'];
export type BulkTaskInput = Schemas['BulkTaskInput'];
export type AddColumnInput = Schemas['AddColumnInput'];
export type ExportInput = Schemas['ExportInput'];
export type ExportResult = Schemas['Export'];
export type DatasetData = Schemas['DatasetData'];

export const FINISHED_TASK_STATUSES: readonly Task['status'][] = ['completed', 'failed', 'cancelled'];

/** An error answered by the API ({error, code, details}), or a failure to reach it (code NETWORK_ERROR). */
export class CellwiseError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CellwiseError';
  }
}

export type CellwiseClientOptions = {
  /** Where the server listens, e.g. http://127.0.0.1:8080 (no /api/v2). */
  baseUrl: string;
  /** An API key, sent as `Authorization: Bearer <key>`. */
  key?: string;
  fetch?: typeof fetch;
};

/** Bytes moved so far; `total` is known for uploads of sized files and downloads with a length. */
export type ByteProgress = { bytes: number; total: number | null };
export type UploadFile = { name: string; data: Blob };
/** One row of a dataset: its id and its cells keyed by column name. */
export type DatasetRow = { rowId: string; cells: Record<string, Cell> };
export type DatasetEvent = { event: 'task'; data: { taskId: string; status: Task['status']; progress?: Task['progress'] } & Record<string, unknown> } | { event: 'cell'; data: { cellId: string; rowId: string; columnId: string; status: Cell['status']; value?: unknown } & Record<string, unknown> };

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The answer's data, or a CellwiseError carrying the API's code, message and details. */
export function unwrap<T>(result: Result<T>): T {
  if (result.response.ok && result.error === undefined) return result.data as T;
  throw toError(result.response.status, result.error);
}

function toError(status: number, body: unknown): CellwiseError {
  const b = (body ?? {}) as { error?: unknown; code?: unknown; details?: unknown };
  if (typeof b.code === 'string') return new CellwiseError(typeof b.error === 'string' ? b.error : b.code, b.code, status, (b.details ?? {}) as Record<string, unknown>);
  return new CellwiseError(`HTTP ${status}${typeof body === 'string' && body ? `: ${body.slice(0, 200)}` : ''}`, 'HTTP_ERROR', status);
}

async function failure(res: Response): Promise<CellwiseError> {
  const text = await res.text();
  try {
    return toError(res.status, JSON.parse(text));
  } catch {
    return toError(res.status, text);
  }
}

/** Counts the bytes that pass through a stream. */
function counting(total: number | null, onProgress: (p: ByteProgress) => void): TransformStream<Uint8Array, Uint8Array> {
  let bytes = 0;
  return new TransformStream({
    transform(chunk, controller) {
      bytes += chunk.byteLength;
      onProgress({ bytes: total === null ? bytes : Math.min(bytes, total), total });
      controller.enqueue(chunk);
    },
  });
}

export function createCellwiseClient(options: CellwiseClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? fetch;
  /** fetch, with a failure to connect turned into a CellwiseError (code NETWORK_ERROR). */
  const doFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    try {
      return await fetchImpl(input, init);
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new CellwiseError(`Cannot reach ${baseUrl}: ${(err as Error).message}`, 'NETWORK_ERROR', 0, { baseUrl });
    }
  };
  const auth: Record<string, string> = options.key ? { authorization: `Bearer ${options.key}` } : {};
  /** Every operation of the API, typed from the document: `api.GET('/api/v2/datasets', { params: { query: { limit: 10 } } })`. */
  const api = createClient<paths>({ baseUrl, headers: auth, fetch: (req: Request) => doFetch(req) });

  async function raw(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await doFetch(path.startsWith('http') ? path : `${baseUrl}${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) } });
    if (!res.ok) throw await failure(res);
    return res;
  }

  /**
   * Creates a dataset from an uploaded file (CSV, TSV, JSON, JSONL, XLSX) or from documents (more
   * than one file, or `documents: true`). `onProgress` reports the bytes sent; it streams the body,
   * which browsers allow only over HTTP/2 (use it from Node).
   */
  async function uploadDataset(files: UploadFile[], opts: { name?: string; type?: string; description?: string; documents?: boolean; onProgress?: (p: ByteProgress) => void; signal?: AbortSignal } = {}): Promise<DatasetDetail> {
    const form = new FormData();
    if (opts.name) form.append('name', opts.name);
    if (opts.type) form.append('type', opts.type);
    if (opts.description) form.append('description', opts.description);
    const asDocuments = opts.documents ?? files.length > 1;
    for (const f of files) form.append(asDocuments ? 'files[]' : 'file', f.data, f.name);
    const url = `${baseUrl}/api/v2/datasets/upload`;
    if (!opts.onProgress) return (await raw(url, { method: 'POST', body: form, ...(opts.signal ? { signal: opts.signal } : {}) })).json() as Promise<DatasetDetail>;
    // The multipart body as a stream (its boundary in the content type), counted as it is sent.
    const encoded = new Request(url, { method: 'POST', body: form });
    const total = files.reduce((n, f) => n + f.data.size, 0);
    const body = encoded.body!.pipeThrough(counting(total, opts.onProgress));
    const init = { method: 'POST', body, duplex: 'half', headers: { 'content-type': encoded.headers.get('content-type')! }, ...(opts.signal ? { signal: opts.signal } : {}) } as RequestInit;
    const res = await raw(url, init);
    opts.onProgress({ bytes: total, total });
    return res.json() as Promise<DatasetDetail>;
  }

  /** Estimates, then starts a bulk task (the API's targeting: cellIds, rowIds, columnIds, processOnlyEmpty, maxCostUsd). */
  async function run(datasetId: string, input: BulkTaskInput = {}): Promise<Task> {
    return unwrap(await api.POST('/api/v2/datasets/{datasetId}/tasks/bulk', { params: { path: { datasetId } }, body: input }));
  }

  /** Polls a task until it is completed, failed or cancelled; `onProgress` sees each poll. */
  async function waitForTask(datasetId: string, taskId: string, opts: { intervalMs?: number; onProgress?: (t: Task) => void; signal?: AbortSignal } = {}): Promise<Task> {
    for (;;) {
      const task = unwrap(await api.GET('/api/v2/datasets/{datasetId}/tasks/{taskId}', { params: { path: { datasetId, taskId } }, ...(opts.signal ? { signal: opts.signal } : {}) }));
      opts.onProgress?.(task);
      if (FINISHED_TASK_STATUSES.includes(task.status)) return task;
      await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 500));
      opts.signal?.throwIfAborted();
    }
  }

  /** Starts a bulk task and waits for it to finish; answers the finished task. */
  async function runAndWait(datasetId: string, input: BulkTaskInput = {}, opts: Parameters<typeof waitForTask>[2] = {}): Promise<Task> {
    const task = await run(datasetId, input);
    return waitForTask(datasetId, task.taskId, opts);
  }

  /** Every row of a dataset, page after page (`pageSize` up to 1000), cells keyed by column name. */
  async function* iterateRows(datasetId: string, opts: { columns?: string[]; includeMetadata?: boolean; pageSize?: number } = {}): AsyncGenerator<DatasetRow> {
    const limit = opts.pageSize ?? 500;
    for (let page = 1; ; page++) {
      const query = { page, limit, includeMetadata: opts.includeMetadata ? ('true' as const) : ('false' as const), ...(opts.columns?.length ? { columns: opts.columns.join(',') } : {}) };
      const data = unwrap(await api.GET('/api/v2/datasets/{datasetId}/data', { params: { path: { datasetId }, query } }));
      for (let i = 0; i < data.rowIds.length; i++) {
        const cells: Record<string, Cell> = {};
        data.columns.forEach((c, j) => (cells[c.name] = data.data[i]![j]!));
        yield { rowId: data.rowIds[i]!, cells };
      }
      if (page >= data.pagination.totalPages || data.rowIds.length === 0) return;
    }
  }

  /** The dataset's live events (Server-Sent Events): `task` progress and `cell` changes, until `signal` aborts. */
  async function* events(datasetId: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<DatasetEvent> {
    const res = await raw(`/api/v2/datasets/${encodeURIComponent(datasetId)}/events`, { headers: { accept: 'text/event-stream' }, ...(opts.signal ? { signal: opts.signal } : {}) });
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if ((event === 'task' || event === 'cell') && data.length) yield { event, data: JSON.parse(data.join('\n')) } as DatasetEvent;
        }
      }
    } catch (err) {
      if (!opts.signal?.aborted) throw err;
    }
  }

  /** Writes an export (CSV, JSON or XLSX) and answers its signed download link. */
  async function exportDataset(datasetId: string, input: ExportInput): Promise<ExportResult> {
    return unwrap(await api.POST('/api/v2/datasets/{datasetId}/export', { params: { path: { datasetId } }, body: input }));
  }

  /** The bytes behind a signed download link, with progress. */
  async function* download(url: string, opts: { onProgress?: (p: ByteProgress) => void; signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    const res = await raw(url, opts.signal ? { signal: opts.signal } : {});
    const length = Number(res.headers.get('content-length'));
    const body = opts.onProgress ? res.body!.pipeThrough(counting(Number.isFinite(length) && length > 0 ? length : null, opts.onProgress)) : res.body!;
    yield* body as unknown as AsyncIterable<Uint8Array>;
  }

  return { api, baseUrl, uploadDataset, run, waitForTask, runAndWait, iterateRows, events, exportDataset, download };
}

export type CellwiseClient = ReturnType<typeof createCellwiseClient>;
