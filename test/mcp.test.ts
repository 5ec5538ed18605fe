import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { startFakeOpenAI, type FakeLlmServer } from './fakes/openai-server.ts';
import { ADMIN_KEY, startTestApp, type TestApp } from './helpers/app.ts';

/**
 * The SDK's own client over both transports: `cellwise mcp` (stdio, the real binary driving the
 * server over HTTP) and `/mcp` (Streamable HTTP inside the server).
 */
let app: TestApp;
let fake: FakeLlmServer;
let work: string;
let otherKey: string;
before(async () => {
  fake = await startFakeOpenAI({ latencyMs: 5 });
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl, llmConcurrency: 2 });
  work = await mkdtemp(path.join(os.tmpdir(), 'cellwise-mcp-'));
  otherKey = (await app.post('/api/v2/workspaces', { name: 'other' })).body.key;
});
after(async () => {
  await app.close();
  await fake.close();
  await rm(work, { recursive: true, force: true });
});

const TOOLS = ['add_column', 'cancel_task', 'create_dataset', 'describe_dataset', 'estimate', 'export', 'list_datasets', 'read_rows', 'run', 'task_status', 'update_cell'];

const transports: Record<string, (key: string) => Transport> = {
  stdio: (key) =>
    new StdioClientTransport({
      command: process.execPath,
      args: [path.join(import.meta.dirname, '..', 'bin', 'cellwise.js'), 'mcp'],
      env: { ...(process.env as Record<string, string>), CELLWISE_URL: app.baseUrl, CELLWISE_KEY: key },
      stderr: 'inherit',
    }),
  'streamable HTTP (/mcp)': (key) => new StreamableHTTPClientTransport(new URL(`${app.baseUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }),
};

async function connect(kind: string, key: string): Promise<Client> {
  const client = new Client({ name: 'cellwise-test', version: '1.0.0' });
  await client.connect(transports[kind]!(key));
  return client;
}

/** A tool's answer: the JSON it carries, and whether it is a tool error. */
async function call(client: Client, name: string, args: Record<string, unknown>, options?: Parameters<Client['callTool']>[2]): Promise<{ isError: boolean; body: any }> {
  const res = await client.callTool({ name, arguments: args }, undefined, options);
  const content = res.content as { type: string; text: string }[];
  const text = content[0]!.text;
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // validation errors of the SDK are plain text
  }
  return { isError: Boolean(res.isError), body };
}

for (const kind of Object.keys(transports)) {
  describe(`MCP over ${kind}`, () => {
    let client: Client;
    before(async () => {
      client = await connect(kind, ADMIN_KEY);
    });
    after(() => client.close());

    it('lists the tools by their names, described from the API schemas', async () => {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
      const run = tools.find((t) => t.name === 'run')!;
      assert.ok((run.inputSchema.properties as Record<string, unknown>).maxCostUsd, 'run takes maxCostUsd from BulkTaskInput');
      assert.deepEqual(run.inputSchema.required, ['datasetId']);
    });

    it('creates a dataset, adds an AI column, runs it with progress notifications until done, reads the enriched rows, exports them', async () => {
      const rows = Array.from({ length: 8 }, (_, i) => ({ Name: `mcp person ${i}` }));
      const created = await call(client, 'create_dataset', { name: `mcp ${kind}`, type: 'analysis', rows });
      assert.equal(created.isError, false, JSON.stringify(created.body));
      const datasetId = created.body.datasetId as string;
      assert.equal(created.body.rowCount, 8);

      const column = await call(client, 'add_column', { datasetId, name: 'Bio', taskType: 'ai_enrich', metadata: { prompt: 'About {{Name}}' } });
      assert.equal(column.isError, false, JSON.stringify(column.body));

      const estimate = await call(client, 'estimate', { datasetId });
      assert.equal(estimate.body.cells, 8);

      const progress: { progress: number; total?: number }[] = [];
      const run = await call(client, 'run', { datasetId, columnIds: [column.body.columnId] }, { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true });
      assert.equal(run.isError, false, JSON.stringify(run.body));
      assert.equal(run.body.status, 'completed');
      assert.deepEqual(run.body.progress, { total: 8, completed: 8, failed: 0, skipped: 0 });
      assert.ok(progress.length >= 1, 'progress notifications were sent');
      assert.ok(progress.every((p) => p.total === 8));

      const status = await call(client, 'task_status', { datasetId, taskId: run.body.taskId });
      assert.equal(status.body.status, 'completed');

      const read = await call(client, 'read_rows', { datasetId, limit: 5, includeMetadata: true });
      assert.equal(read.body.rows.length, 5);
      assert.equal(read.body.pagination.total, 8);
      for (const row of read.body.rows) {
        assert.match(row.values.Bio, /^fake answer /);
        assert.equal(row.cells.Bio.status, 'done');
      }

      const cellId = read.body.rows[0].cells.Name.cellId;
      const updated = await call(client, 'update_cell', { datasetId, cellId, value: 'renamed' });
      assert.equal(updated.isError, false, JSON.stringify(updated.body));

      const described = await call(client, 'describe_dataset', { datasetId });
      assert.deepEqual(described.body.columns.map((c: any) => c.name), ['Name', 'Bio']);
      assert.deepEqual(described.body.taskTypes, ['raw', 'ai_enrich']);

      const resources = await client.listResources();
      const uri = `cellwise://datasets/${datasetId}/schema`;
      assert.ok(resources.resources.some((r) => r.uri === uri));
      const schema = await client.readResource({ uri });
      const text = (schema.contents[0] as { text: string }).text;
      assert.deepEqual(JSON.parse(text).columns.map((c: any) => c.taskType), ['raw', 'ai_enrich']);

      const exported = await call(client, 'export', { datasetId, format: 'json', rowCount: 100 });
      assert.equal(exported.isError, false, JSON.stringify(exported.body));
      const file = (await (await fetch(exported.body.downloadUrl)).json()) as any[];
      assert.equal(file.length, 8);
      assert.equal(file[0].Name, 'renamed');
    });

    it('answers a refused call as a tool error carrying the API code', async () => {
      const missing = await call(client, 'describe_dataset', { datasetId: 'ds_missing' });
      assert.equal(missing.isError, true);
      assert.equal(missing.body.code, 'DATASET_NOT_FOUND');
      const list = await call(client, 'list_datasets', {});
      const datasetId = list.body.datasets[0].datasetId;
      const badType = await call(client, 'add_column', { datasetId, name: 'x', taskType: 'no_such_type' });
      assert.equal(badType.isError, true);
      assert.equal(badType.body.code, 'INVALID_TASK_TYPE');
      const invalid = await call(client, 'export', { datasetId, format: 'pdf', rowCount: 1 });
      assert.equal(invalid.isError, true, 'the API schema refuses the format before any call');
      const readKey = (await app.post('/api/v2/keys', { name: 'mcp reader', scopes: ['read'] })).body.key;
      const reader = await connect(kind, readKey);
      try {
        assert.equal((await call(reader, 'describe_dataset', { datasetId })).isError, false);
        const write = await call(reader, 'add_column', { datasetId, name: 'y', taskType: 'raw' });
        assert.equal(write.isError, true);
        assert.equal(write.body.code, 'ACCESS_DENIED');
      } finally {
        await reader.close();
      }
    });

    it('shows a key of another workspace nothing of this one', async () => {
      const other = await connect(kind, otherKey);
      try {
        const list = await call(other, 'list_datasets', {});
        assert.deepEqual(list.body.datasets, []);
        const mine = await call(client, 'list_datasets', {});
        const theirs = await call(other, 'read_rows', { datasetId: mine.body.datasets[0].datasetId });
        assert.equal(theirs.isError, true);
        assert.equal(theirs.body.code, 'DATASET_NOT_FOUND');
        assert.deepEqual((await other.listResources()).resources, []);
      } finally {
        await other.close();
      }
    });
  });
}

describe('MCP specifics', () => {
  it('over stdio creates a dataset from a local file path', async () => {
    const file = path.join(work, 'cities.csv');
    await writeFile(file, 'City,Country\nLyon,France\nKyoto,Japan\n');
    const client = await connect('stdio', ADMIN_KEY);
    try {
      const created = await call(client, 'create_dataset', { path: file, type: 'analysis' });
      assert.equal(created.isError, false, JSON.stringify(created.body));
      assert.equal(created.body.name, 'cities');
      assert.equal(created.body.rowCount, 2);
    } finally {
      await client.close();
    }
  });

  it('/mcp refuses a request without a valid key (401, the API error shape), and its tools cannot read files of the server', async () => {
    const res = await fetch(`${app.baseUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as any).code, 'UNAUTHORIZED');
    const client = await connect('streamable HTTP (/mcp)', ADMIN_KEY);
    try {
      const { tools } = await client.listTools();
      const create = tools.find((t) => t.name === 'create_dataset')!;
      assert.equal((create.inputSchema.properties as Record<string, unknown>).path, undefined);
      const r = await call(client, 'create_dataset', { name: 'x', type: 'analysis', path: '/etc/passwd' });
      assert.equal(r.isError, true, 'path is not an input of /mcp (strict schema)');
    } finally {
      await client.close();
    }
  });
});
