import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { createCellwiseClient, type CellwiseClient } from '../../clients/typescript/index.ts';
import { loadClientConfig } from '../config.ts';
import { createOutput, UsageError, type Output } from './output.ts';

/** The options every verb that talks to a running server takes. */
export type ConnectionOptions = { url?: string; key?: string; keyFile?: string; json?: boolean };

/** Adds --url, --key, --key-file and (unless `json: false`) --json to a verb, so its --help lists them. */
export function withConnection(cmd: Command, { json = true } = {}): Command {
  cmd
    .addOption(new Option('--url <url>', 'server address (default: CELLWISE_URL or http://127.0.0.1:8080)'))
    .addOption(new Option('--key <key>', 'API key (default: CELLWISE_KEY)').conflicts('keyFile'))
    .option('--key-file <file>', 'read the API key from this file');
  return json ? cmd.option('--json', 'print the answer as JSON (for scripts)') : cmd;
}

export type Remote = { client: CellwiseClient; out: Output; url: string; key: string };

/** The typed client and the output for one invocation, from flags first, then the environment. */
export async function connect(opts: ConnectionOptions): Promise<Remote> {
  const env = loadClientConfig();
  const url = opts.url ?? env.url;
  if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--url must be an http(s) URL, got "${url}"`);
  let key = opts.key ?? env.key;
  if (opts.keyFile) {
    try {
      key = (await readFile(opts.keyFile, 'utf8')).trim();
    } catch (err) {
      throw new UsageError(`Cannot read --key-file ${opts.keyFile}: ${(err as Error).message}`);
    }
  }
  if (!key) throw new UsageError('No API key: set CELLWISE_KEY, or pass --key or --key-file');
  const out = createOutput({ json: Boolean(opts.json), noColor: env.noColor });
  return { client: createCellwiseClient({ baseUrl: url, key }), out, url, key };
}

/** A flag parser for positive numbers (commander reports a bad value as a usage error). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number.');
  return n;
}

/** A flag parser for positive integers. */
export function positiveInteger(value: string): number {
  const n = positiveNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be a positive whole number.');
  return n;
}

