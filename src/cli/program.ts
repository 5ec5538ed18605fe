import { Command, CommanderError } from 'commander';
import { CellwiseError } from '../../clients/typescript/index.ts';
import { ConfigError } from '../config.ts';
import { StartupError } from '../startup-error.ts';
import { registerDatasetCommands } from './datasets.ts';
import { registerExportCommand } from './export.ts';
import { registerKeyCommands } from './keys.ts';
import { UsageError } from './output.ts';
import { connect, withConnection, type ConnectionOptions } from './remote.ts';
import { packageVersion } from '../version.ts';
import { registerRunCommand } from './run.ts';
import { registerServerCommands } from './server.ts';
import { registerTaskCommands } from './tasks.ts';

/**
 * The `cellwise` command line. Verbs that run cellwise here (serve, worker, places import, keys
 * create --local) read the server's environment; the others drive a running server over HTTP
 * through the typed client (CELLWISE_URL, CELLWISE_KEY or --url, --key, --key-file).
 *
 * Exit codes: 0 success, 1 an API error (message and code printed) or a failed task, 2 a usage
 * error (unknown flag, bad value, missing argument or key), 130 a run cancelled with Ctrl-C.
 */
export function buildProgram(): Command {
  const program = new Command('cellwise')
    .description('Self-hosted AI data enrichment: run the server, or drive one from the terminal')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });
  registerServerCommands(program);
  registerDatasetCommands(program);
  registerRunCommand(program);
  registerExportCommand(program);
  registerTaskCommands(program);
  registerKeyCommands(program);
  withConnection(program.command('mcp').description('serve MCP over stdio for an MCP client (Claude Desktop, Cursor ...), driving the server at CELLWISE_URL with CELLWISE_KEY'), { json: false }).action(async (opts: ConnectionOptions) => {
    const { url, key } = await connect(opts);
    const { runStdioMcp } = await import('../mcp/stdio.ts');
    await runStdioMcp({ url, key, version: packageVersion() });
  });
  program
    .command('blobs')
    .description('move stored files between blob stores')
    .command('migrate')
    .description('copy every uploaded file, document and export to another blob store (servers and workers stopped)')
    .requiredOption('--to <kind>', 'the target store: local, postgres or s3')
    .option('--from <kind>', 'the source store (default: the configured one)')
    .action(async (opts: { to: string; from?: string }) => {
      const { loadConfig } = await import('../config.ts');
      const { blobsCommand } = await import('./blobs.ts');
      process.exitCode = await blobsCommand(['migrate', '--to', opts.to, ...(opts.from ? ['--from', opts.from] : [])], loadConfig());
    });
  return program;
}

/** Parses argv, runs the verb, and sets the exit code; never throws. */
export async function main(argv: string[]): Promise<void> {
  const json = argv.includes('--json');
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
  } catch (err) {
    process.exitCode = exitCodeFor(err, json);
  }
}

function exitCodeFor(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2; // help and version exit 0; commander printed the rest with the usage
  if (err instanceof UsageError || err instanceof ConfigError) {
    console.error(`${err.message}\n(add --help for usage)`);
    return 2;
  }
  if (err instanceof StartupError) {
    console.error(`cellwise: ${err.message}`);
    return 1;
  }
  if (err instanceof CellwiseError) {
    if (json) console.log(JSON.stringify({ error: err.message, code: err.code, status: err.status, details: err.details }, null, 2));
    else console.error(`Error: ${err.message} (${err.code}${err.status ? `, HTTP ${err.status}` : ''})`);
    return 1;
  }
  console.error(err);
  return 1;
}
