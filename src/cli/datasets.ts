import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { unwrap, type DatasetDetail } from '../../clients/typescript/index.ts';
import { byteProgress, UsageError, type Output } from './output.ts';
import { connect, positiveInteger, withConnection, type ConnectionOptions } from './remote.ts';

const DATASET_TYPES = ['analysis', 'extraction', 'classification'];
const TASK_TYPES = ['raw', 'ai_enrich', 'web_enrich', 'classification', 'doc_extraction', 'places_count'];

/** `cellwise datasets list|show`, `cellwise import`, `cellwise columns add`. */
export function registerDatasetCommands(program: Command) {
  const datasets = program.command('datasets').description('list and inspect datasets');

  withConnection(datasets.command('list').description('list the datasets of the key\'s workspace'))
    .option('--page <n>', 'page number', positiveInteger, 1)
    .option('--limit <n>', 'datasets per page (at most 100)', positiveInteger, 20)
    .action(async (opts: ConnectionOptions & { page: number; limit: number }) => {
      const { client, out } = await connect(opts);
      const page = unwrap(await client.api.GET('/api/v2/datasets', { params: { query: { page: opts.page, limit: opts.limit } } }));
      out.result(page, () => {
        if (!page.datasets.length) return out.line('No datasets.');
        out.table(['ID', 'NAME', 'TYPE', 'STATUS', 'ROWS', 'COLUMNS', 'UPDATED'], page.datasets.map((d) => [d.datasetId, d.name, d.type, d.status, d.rowCount, d.columnCount, d.updatedAt]));
        if (page.pagination.totalPages > 1) out.line(out.dim(`page ${page.pagination.page} of ${page.pagination.totalPages} (${page.pagination.total} datasets)`));
      });
    });

  withConnection(datasets.command('show').description('a dataset with its columns and active task').argument('<dataset>', 'dataset id'))
    .action(async (datasetId: string, opts: ConnectionOptions) => {
      const { client, out } = await connect(opts);
      const ds = unwrap(await client.api.GET('/api/v2/datasets/{datasetId}', { params: { path: { datasetId } } }));
      out.result(ds, () => printDataset(out, ds));
    });

  withConnection(
    program
      .command('import')
      .description('create a dataset from a CSV, TSV, JSON, JSONL or XLSX file, or from documents (several files, or --documents)')
      .argument('<files...>', 'files to upload')
      .option('--name <name>', 'dataset name (default: the file name)')
      .addOption(new Option('--type <type>', 'dataset type').choices(DATASET_TYPES))
      .option('--description <text>', 'dataset description')
      .option('--documents', 'treat a single file as a document (PDF, DOCX, HTML ...) for an extraction dataset'),
  ).action(async (files: string[], opts: ConnectionOptions & { name?: string; type?: string; description?: string; documents?: boolean }) => {
    const uploads = [];
    for (const file of files) {
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) throw new UsageError(`Not a readable file: ${file}`);
      uploads.push({ name: path.basename(file), data: await openAsBlob(file) });
    }
    const { client, out } = await connect(opts);
    const ds = await client.uploadDataset(uploads, {
      name: opts.name ?? path.basename(files[0]!).replace(/\.[^.]+$/, ''),
      ...(opts.type ? { type: opts.type } : {}),
      ...(opts.description ? { description: opts.description } : {}),
      ...(opts.documents ? { documents: true } : {}),
      onProgress: byteProgress(out, 'Uploading'),
    });
    out.endProgress();
    out.result(ds, () => {
      out.line(out.green(`Created dataset ${ds.datasetId}`));
      printDataset(out, ds);
    });
  });

  const columns = program.command('columns').description('add columns to a dataset');
  withConnection(
    columns
      .command('add')
      .description('add a column (raw, or a task type such as ai_enrich with its metadata)')
      .argument('<dataset>', 'dataset id')
      .requiredOption('--name <name>', 'column name')
      .addOption(new Option('--type <taskType>', 'task type').choices(TASK_TYPES).makeOptionMandatory())
      .option('--prompt <prompt>', 'the prompt (ai_enrich, classification, ...): sets metadata.prompt; {{Column}} refers to a column')
      .option('--metadata <json>', 'task-type metadata as a JSON object, e.g. \'{"model":"openai:gpt-4o","temperature":0}\'')
      .option('--position <n>', 'insert at this position (0 first)', (v) => Number.parseInt(v, 10)),
  ).action(async (datasetId: string, opts: ConnectionOptions & { name: string; type: string; prompt?: string; metadata?: string; position?: number }) => {
    let metadata: Record<string, unknown> = {};
    if (opts.metadata) {
      try {
        metadata = JSON.parse(opts.metadata) as Record<string, unknown>;
      } catch (err) {
        throw new UsageError(`--metadata is not JSON: ${(err as Error).message}`);
      }
      if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) throw new UsageError('--metadata must be a JSON object');
    }
    if (opts.prompt !== undefined) metadata.prompt = opts.prompt;
    const { client, out } = await connect(opts);
    const column = unwrap(
      await client.api.POST('/api/v2/datasets/{datasetId}/columns', {
        params: { path: { datasetId } },
        body: { name: opts.name, taskType: opts.type, ...(Object.keys(metadata).length ? { metadata } : {}), ...(opts.position !== undefined ? { position: opts.position } : {}) },
      }),
    );
    out.result(column, () => out.line(`${out.green('Added column')} ${column.columnId} ${column.name} (${column.taskType})`));
  });
}

function printDataset(out: Output, ds: DatasetDetail) {
  out.line(`${out.bold(ds.name)} ${out.dim(ds.datasetId)}  ${ds.type}, ${ds.status}, ${ds.rowCount} rows${ds.activeTaskId ? `, active task ${ds.activeTaskId}` : ''}`);
  out.table(
    ['COLUMN', 'NAME', 'TASK TYPE'],
    ds.columns.map((c) => [c.columnId, c.name, c.taskType]),
  );
}
