import { openAsBlob } from 'node:fs';
import path from 'node:path';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { CellwiseError, unwrap, type CellwiseClient, type Task } from '../../clients/typescript/index.ts';
import { UpdateCellInput } from '../features/cells/cells.routes.ts';
import { AddColumnInput } from '../features/columns/columns.routes.ts';
import { CreateDatasetInput, DatasetDataQuery, ListDatasetsQuery } from '../features/datasets/datasets.schema.ts';
import { ExportInput } from '../features/exports/exports.schema.ts';
import { BulkTaskInput } from '../features/tasks/tasks.schema.ts';

/** How often a waiting `run` looks at its task (progress notifications go out when it moves). */
const RUN_POLL_MS = 500;

const datasetId = z.string().min(1).describe('dataset id (ds_...)');
const taskId = z.string().min(1).describe('task id (task_...)');

export type McpOptions = {
  /** The API, as the caller: over HTTP (stdio) or dispatched into the app with the caller's key (/mcp). */
  client: CellwiseClient;
  /** `create_dataset` may read a file of this machine (stdio only: the client and files are local). */
  localFiles: boolean;
  version: string;
};

const ok = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] });

/** A refused call: an MCP tool error carrying the API's {error, code, details}. */
function refused(err: unknown): CallToolResult {
  const body = err instanceof CellwiseError ? { error: err.message, code: err.code, details: err.details } : { error: (err as Error).message ?? String(err), code: 'INTERNAL_ERROR', details: {} };
  return { isError: true, content: [{ type: 'text', text: JSON.stringify(body) }] };
}

/** Runs a tool body; API errors become tool errors rather than protocol errors. */
const tool =
  <A>(fn: (args: A, extra: ToolExtra) => Promise<unknown>) =>
  async (args: A, extra: ToolExtra): Promise<CallToolResult> => {
    try {
      return ok(await fn(args, extra));
    } catch (err) {
      return refused(err);
    }
  };
type ToolExtra = { _meta?: { progressToken?: string | number }; signal: AbortSignal; sendNotification: (n: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; total?: number; message?: string } }) => Promise<void> };

/**
 * The cellwise MCP server: tools named as in the API's words, inputs validated by the API's own
 * zod schemas (the API validates again: one contract), resources with each dataset's schema.
 * Every call goes through `client`, so keys, scopes and workspaces are the API's.
 */
export function createMcpServer({ client, localFiles, version }: McpOptions): McpServer {
  const server = new McpServer({ name: 'cellwise', version }, { capabilities: { logging: {} } });
  const api = client.api;

  server.registerTool(
    'list_datasets',
    { title: 'List datasets', description: 'The datasets of the workspace, a page at a time (id, name, type, status, row and column counts).', inputSchema: ListDatasetsQuery, annotations: { readOnlyHint: true } },
    tool(async (q: z.infer<typeof ListDatasetsQuery>) => unwrap(await api.GET('/api/v2/datasets', { params: { query: q } }))),
  );

  server.registerTool(
    'describe_dataset',
    { title: 'Describe a dataset', description: 'A dataset\'s columns (id, name, task type, metadata), row count, status and its active task with progress.', inputSchema: z.object({ datasetId }), annotations: { readOnlyHint: true } },
    tool(async ({ datasetId }: { datasetId: string }) => describe(client, datasetId)),
  );

  const ReadRows = DatasetDataQuery.extend({ datasetId, includeMetadata: z.boolean().default(false).describe('add each cell\'s status and metadata (confidence, sources, reasons)') });
  server.registerTool(
    'read_rows',
    { title: 'Read rows', description: 'A page of rows as objects keyed by column name (page, limit up to 1000, columns: comma-separated column ids, includeMetadata).', inputSchema: ReadRows, annotations: { readOnlyHint: true } },
    tool(async ({ datasetId, includeMetadata, ...q }: z.infer<typeof ReadRows>) => {
      const page = unwrap(await api.GET('/api/v2/datasets/{datasetId}/data', { params: { path: { datasetId }, query: { ...q, includeMetadata: includeMetadata ? 'true' : 'false' } } }));
      const rows = page.rowIds.map((rowId, i) => {
        const values: Record<string, unknown> = {};
        const cells: Record<string, unknown> = {};
        page.columns.forEach((c, j) => {
          const cell = page.data[i]![j]!;
          values[c.name] = cell.value;
          if (includeMetadata) cells[c.name] = { cellId: cell.cellId, status: cell.status, metadata: cell.metadata };
        });
        return includeMetadata ? { rowId, values, cells } : { rowId, values };
      });
      return { datasetId, columns: page.columns, rows, pagination: page.pagination };
    }),
  );

  const CreateDataset = CreateDatasetInput.extend({
    name: CreateDatasetInput.shape.name.optional(),
    type: CreateDatasetInput.shape.type.optional(),
    ...(localFiles ? { path: z.string().min(1).optional().describe('a local CSV, TSV, JSON, JSONL or XLSX file (or a document) to upload instead of rows') } : {}),
  });
  server.registerTool(
    'create_dataset',
    {
      title: 'Create a dataset',
      description: `Create a dataset from rows (objects keyed by column name) with optional column definitions (any task type and its metadata)${localFiles ? ', or from a local file given by path' : ''}. type: analysis, extraction or classification.`,
      inputSchema: CreateDataset,
    },
    tool(async (input: z.infer<typeof CreateDataset> & { path?: unknown }) => {
      const { path: file, ...body } = input;
      if (typeof file === 'string') {
        const ds = await client.uploadDataset([{ name: path.basename(file), data: await openAsBlob(file) }], { name: body.name ?? path.basename(file).replace(/\.[^.]+$/, ''), ...(body.type ? { type: body.type } : {}), ...(body.description ? { description: body.description } : {}) });
        return ds;
      }
      return unwrap(await api.POST('/api/v2/datasets', { body: body as never }));
    }),
  );

  const AddColumn = AddColumnInput.extend({ datasetId });
  server.registerTool(
    'add_column',
    { title: 'Add a column', description: 'Add a column: raw, or a computed task type (ai_enrich, web_enrich, classification, doc_extraction, places_count) with its metadata, e.g. {"prompt": "One line about {{Name}}"}.', inputSchema: AddColumn },
    tool(async ({ datasetId, ...body }: z.infer<typeof AddColumn>) => unwrap(await api.POST('/api/v2/datasets/{datasetId}/columns', { params: { path: { datasetId } }, body }))),
  );

  const UpdateCell = UpdateCellInput.extend({ datasetId, cellId: z.string().min(1).describe('cell id (as read_rows gives it with includeMetadata)') });
  server.registerTool(
    'update_cell',
    { title: 'Update a cell', description: 'Set a cell\'s value (any JSON; null empties it). Its metadata is reset.', inputSchema: UpdateCell },
    tool(async ({ datasetId, cellId, value }: z.infer<typeof UpdateCell>) => unwrap(await api.PATCH('/api/v2/datasets/{datasetId}/cells/{cellId}', { params: { path: { datasetId, cellId } }, body: { value } }))),
  );

  const Bulk = BulkTaskInput.extend({ datasetId });
  server.registerTool(
    'estimate',
    { title: 'Estimate a run', description: 'Cells, LLM calls, expected cache hits, tokens and cost of a run, without running anything. Same targeting as run.', inputSchema: Bulk, annotations: { readOnlyHint: true } },
    tool(async ({ datasetId, ...body }: z.infer<typeof Bulk>) => unwrap(await api.POST('/api/v2/datasets/{datasetId}/tasks/estimate', { params: { path: { datasetId } }, body }))),
  );

  const Run = Bulk.extend({ wait: z.boolean().optional().describe('wait for the task to finish (default: when the caller asked for progress)') });
  server.registerTool(
    'run',
    {
      title: 'Run a task',
      description:
        'Process computed cells: all empty ones, or the given cellIds, rowIds, columnIds (processOnlyEmpty skips cells with a value; maxCostUsd stops the task before its LLM spend exceeds it). Answers the task at once, or waits for the end with wait=true or when a progress token is sent (progress notifications as cells finish).',
      inputSchema: Run,
    },
    tool(async ({ datasetId, wait, ...body }: z.infer<typeof Run>, extra) => {
      const task = await client.run(datasetId, body);
      const token = extra._meta?.progressToken;
      if (!(wait ?? token !== undefined)) return task;
      let last = -1;
      return client.waitForTask(datasetId, task.taskId, {
        intervalMs: RUN_POLL_MS,
        signal: extra.signal,
        onProgress: (t: Task) => {
          const done = t.progress.completed + t.progress.failed + t.progress.skipped;
          if (token === undefined || done === last) return;
          last = done;
          void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: done, total: t.progress.total, message: `${t.status}: ${done} of ${t.progress.total} cells, $${t.usage.costUsd.toFixed(4)}` } }).catch(() => undefined);
        },
      });
    }),
  );

  const TaskRef = z.object({ datasetId, taskId });
  server.registerTool(
    'task_status',
    { title: 'Task status', description: 'A task with its status, progress (total, completed, failed, skipped) and usage (LLM calls, tokens, cost).', inputSchema: TaskRef, annotations: { readOnlyHint: true } },
    tool(async ({ datasetId, taskId }: z.infer<typeof TaskRef>) => unwrap(await api.GET('/api/v2/datasets/{datasetId}/tasks/{taskId}', { params: { path: { datasetId, taskId } } }))),
  );
  server.registerTool(
    'cancel_task',
    { title: 'Cancel a task', description: 'Cancel a queued or processing task; finished cells keep their values.', inputSchema: TaskRef },
    tool(async ({ datasetId, taskId }: z.infer<typeof TaskRef>) => unwrap(await api.POST('/api/v2/datasets/{datasetId}/tasks/{taskId}/cancel', { params: { path: { datasetId, taskId } } }))),
  );

  const Export = ExportInput.extend({ datasetId });
  server.registerTool(
    'export',
    { title: 'Export a dataset', description: 'Write rows as CSV, JSON or XLSX and answer a signed, expiring download link (no API key needed to fetch it).', inputSchema: Export },
    // The body's filter is checked by the server (typed `unknown` here, a ViewFilter in the client).
    tool(async ({ datasetId, ...body }: z.infer<typeof Export>) => client.exportDataset(datasetId, body as Parameters<typeof client.exportDataset>[1])),
  );

  server.registerResource(
    'dataset-schema',
    new ResourceTemplate('cellwise://datasets/{datasetId}/schema', {
      list: async () => {
        const page = unwrap(await api.GET('/api/v2/datasets', { params: { query: { limit: 100 } } }));
        return { resources: page.datasets.map((d) => ({ uri: `cellwise://datasets/${d.datasetId}/schema`, name: d.name, description: `${d.type} dataset, ${d.rowCount} rows, ${d.columnCount} columns`, mimeType: 'application/json' })) };
      },
    }),
    { title: 'Dataset schema', description: 'A dataset\'s columns with their task types and metadata', mimeType: 'application/json' },
    async (uri, { datasetId }) => {
      const detail = await describe(client, String(datasetId));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(detail, null, 2) }] };
    },
  );

  return server;
}

async function describe(client: CellwiseClient, datasetId: string) {
  const ds = unwrap(await client.api.GET('/api/v2/datasets/{datasetId}', { params: { path: { datasetId } } }));
  const activeTask = ds.activeTaskId ? unwrap(await client.api.GET('/api/v2/datasets/{datasetId}/tasks/{taskId}', { params: { path: { datasetId, taskId: ds.activeTaskId } } })) : null;
  const taskTypes = [...new Set(ds.columns.map((c) => c.taskType))];
  return { ...ds, taskTypes, activeTask };
}
