import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Option, type Command } from 'commander';
import { unwrap } from '../../clients/typescript/index.ts';
import { byteProgress } from './output.ts';
import { connect, positiveInteger, withConnection, type ConnectionOptions } from './remote.ts';

const MAX_EXPORT_ROWS = 100_000;

/** `cellwise export DATASET --format csv|json|xlsx [-o FILE]`: writes the export, then downloads it with progress. */
export function registerExportCommand(program: Command) {
  withConnection(
    program
      .command('export')
      .description('export a dataset as CSV, JSON or XLSX and download it')
      .argument('<dataset>', 'dataset id')
      .addOption(new Option('--format <format>', 'file format').choices(['csv', 'json', 'xlsx']).makeOptionMandatory())
      .option('-o, --output <file>', 'where to write (- for stdout); default: the export\'s file name in this folder')
      .option('--rows <n>', `rows to export (default: all, at most ${MAX_EXPORT_ROWS})`, positiveInteger)
      .option('--columns <ids...>', 'only these column ids, in this order')
      .option('--include-metadata', 'add status, confidence and sources of each cell'),
  ).action(async (datasetId: string, opts: ConnectionOptions & { format: 'csv' | 'json' | 'xlsx'; output?: string; rows?: number; columns?: string[]; includeMetadata?: boolean }) => {
    const { client, out } = await connect(opts);
    const rowCount = opts.rows ?? Math.max(1, Math.min(MAX_EXPORT_ROWS, unwrap(await client.api.GET('/api/v2/datasets/{datasetId}', { params: { path: { datasetId } } })).rowCount));
    const exported = await client.exportDataset(datasetId, { format: opts.format, rowCount, ...(opts.columns ? { columnIds: opts.columns } : {}), ...(opts.includeMetadata ? { includeMetadata: true } : {}) });
    const target = opts.output ?? exported.fileName;
    const sink = target === '-' ? process.stdout : createWriteStream(target);
    for await (const chunk of client.download(exported.downloadUrl, { onProgress: byteProgress(out, 'Downloading') })) {
      if (!sink.write(chunk)) await once(sink, 'drain');
    }
    if (sink !== process.stdout) await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
    out.endProgress();
    if (target === '-') return;
    out.result({ ...exported, file: target }, () => out.line(`${out.green('Exported')} ${exported.rowCount} rows to ${target} (${exported.sizeBytes} bytes)`));
  });
}
