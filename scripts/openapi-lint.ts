// Lints the live OpenAPI document with Redocly (redocly.yaml: the recommended ruleset) and prints
// its findings; exits 1 on any error or warning. Redocly's telemetry and update check are off:
// a lint must not reach the network.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { liveOpenApiDocument } from './openapi-document.ts';

export type LintTotals = { errors: number; warnings: number; output: string };

export async function lintLiveDocument(): Promise<LintTotals> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-lint-'));
  try {
    const file = path.join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(await liveOpenApiDocument()));
    const bin = path.join(import.meta.dirname, '..', 'node_modules', '.bin', 'redocly');
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', DO_NOT_TRACK: '1' };
    const run = (format: string) => spawnSync(bin, ['lint', file, `--format=${format}`, `--config=${path.join(import.meta.dirname, '..', 'redocly.yaml')}`], { env, encoding: 'utf8' });
    const json = run('json');
    const totals = JSON.parse(json.stdout.slice(json.stdout.indexOf('{'))).totals as { errors: number; warnings: number };
    return { ...totals, output: totals.errors || totals.warnings ? run('stylish').stdout : '' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { errors, warnings, output } = await lintLiveDocument();
  process.stdout.write(output);
  console.log(`OpenAPI lint: ${errors} errors, ${warnings} warnings`);
  process.exit(errors || warnings ? 1 : 0);
}
