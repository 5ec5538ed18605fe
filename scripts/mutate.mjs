#!/usr/bin/env node
// Mutation testing (StrykerJS) of the code where a silent break costs data or a tenant's safety:
// each module's guards are mutated one change at a time and only the few test files that exercise
// them run against each mutant (mutants x test time is the cost). Prints a score per module.
//
//   npm run mutate                  every module, on SQLite
//   npm run mutate -- links writers only these modules
//   CELLWISE_TEST_BACKEND=postgres CELLWISE_TEST_DATABASE_URL=... npm run mutate -- leases
//   CELLWISE_TEST_DATABASE_URL=... npm run mutate -- rate-limit-pg   a module that runs only on PostgreSQL
//   npm run mutate -- --survivors auth-scopes   only the lines the last full run left survivors on
//   npm run mutate -- --list        what each module mutates, resolved to lines; nothing runs
//
// node:test has no Stryker runner plugin, so the command runner starts `node --test` per mutant
// (the active mutant travels in an environment variable, so worker threads and child processes see
// it too). Concurrency 1: the tests start servers and databases of their own. Not run in CI: slow.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Stryker } from '@stryker-mutator/core';
import ts from 'typescript';

/**
 * name: the module; mutate: what holds its guards; tests: the test files that exercise them.
 * backend: 'postgres' for code that only runs there (the tests then run with
 * CELLWISE_TEST_BACKEND=postgres and need CELLWISE_TEST_DATABASE_URL; without it the module is
 * reported as not measured).
 *
 * A mutate entry is a whole file, or part of a big file named by its code, never by line numbers
 * (a range of lines silently drifts onto other code when the file changes):
 *   { file, at: ['export function hasScope', ...] }  the declarations or statements whose source
 *       begins with each of these texts (each must begin exactly one: resolved with TypeScript's parser)
 *   { file, except: ['export function postgresRateCounter'] }  the whole file but those
 * The line ranges they resolve to are printed with each module.
 */
const MODULES = [
  // The engine's lease guards, in a file of their own: claim (and stale-lease recovery), renewal, the
  // held-by check, finish and release, the group commit's finish statement and cell writes.
  { name: 'leases', mutate: ['src/store/task-leases.ts', 'src/engine/group-commit.ts'], tests: ['src/store/tasks.test.ts', 'src/engine/group-commit.test.ts'] },
  { name: 'tenancy', mutate: ['src/features/datasets/dataset-access.ts'], tests: ['test/auth.test.ts', 'test/rows-cells.test.ts', 'test/datasets.test.ts'] },
  // The policy's range table alone makes ~250 mutants: its unit and SSRF tests only; the fetcher's address
  // check and redirect loop (each hop's check and the redirect handling, not the content type read
  // after the last hop) against the SSRF and fetcher suites.
  { name: 'address-policy', mutate: ['src/providers/web/address-policy.ts'], tests: ['src/providers/web/address-policy.test.ts', 'src/providers/web/ssrf.test.ts'] },
  { name: 'fetcher-checks', mutate: [{ file: 'src/providers/web/http-fetcher.ts', at: ['async function addressesFor', 'let redirects = 0', 'redirects++', 'const port = Number(url.port', 'const addresses = await addressesFor(', 'if (signal.aborted) throw', 'const res = await hop(', 'if (!res.body) {'] }], tests: ['src/providers/web/ssrf.test.ts', 'src/providers/web/http-fetcher.test.ts'] },
  { name: 'signed-links', mutate: ['src/http/signed-links.ts'], tests: ['src/http/signed-links.test.ts'] },
  { name: 'idempotency', mutate: ['src/http/idempotency.ts'], tests: ['src/http/idempotency.test.ts'] },
  { name: 'auth-scopes', mutate: ['src/http/auth.ts', { file: 'src/features/keys/keys.service.ts', at: ['export function hasScope', 'async authenticate('] }], tests: ['src/features/keys/scopes.test.ts', 'test/auth.test.ts'] },
  // The PostgreSQL counter runs only against PostgreSQL: it is its own module, measured on that backend.
  { name: 'rate-limit', mutate: [{ file: 'src/http/rate-limit.ts', except: ['export function postgresRateCounter'] }], tests: ['test/rate-limits.test.ts'] },
  { name: 'rate-limit-pg', backend: 'postgres', mutate: [{ file: 'src/http/rate-limit.ts', at: ['export function postgresRateCounter'] }], tests: ['test/rate-limits.test.ts'] },
  { name: 'quotes', mutate: ['src/engine/executors/web-quotes.ts', { file: 'src/engine/executors/document-chunks.ts', at: ['export function squash', 'export function locateQuote'] }], tests: ['src/engine/executors/web-quotes.test.ts', 'src/engine/executors/document-chunks.test.ts'] },
  { name: 'writers', mutate: ['src/features/exports/writers/csv.ts', { file: 'src/features/exports/writers/xlsx.ts', at: ['export function xlsxValue'] }], tests: ['src/features/exports/writers/csv.test.ts', 'src/features/exports/writers/xlsx.test.ts'] },
];

/**
 * The outermost syntax node whose source (comments and JSDoc left out) begins with `text`; it must
 * be exactly one place in the file, or the config no longer says what it meant: fail loudly.
 */
function nodeAt(file, source, text) {
  const starts = new Map();
  const visit = (node) => {
    const start = node.getStart(source);
    if (source.text.startsWith(text, start)) {
      const prev = starts.get(start);
      if (!prev || node.end > prev.end) starts.set(start, node);
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(source, visit);
  if (starts.size !== 1) throw new Error(`${file}: ${starts.size} places begin with ${JSON.stringify(text)} (there must be exactly one): fix the mutate entry in scripts/mutate.mjs`);
  const node = [...starts.values()][0];
  const line = (pos) => source.getLineAndCharacterOfPosition(pos).line + 1;
  return { from: line(node.getStart(source)), to: line(node.end) };
}

/** A module's mutate entries as Stryker's patterns: files, and `file:from-to` for the named code. */
function resolveMutate(entries) {
  return entries.flatMap((e) => {
    if (typeof e === 'string') {
      if (/:\d+-\d+$/.test(e)) throw new Error(`${e}: name the code with { file, at } instead of a line range (ranges drift when the file changes)`);
      return [e];
    }
    const text = readFileSync(e.file, 'utf8');
    const source = ts.createSourceFile(e.file, text, ts.ScriptTarget.Latest, true);
    if (e.at) return [...new Set(e.at.map((t) => nodeAt(e.file, source, t)).map((r) => `${e.file}:${r.from}-${r.to}`))];
    const lines = text.split('\n').length;
    const cut = e.except.map((t) => nodeAt(e.file, source, t)).sort((a, b) => a.from - b.from);
    const kept = [];
    let from = 1;
    for (const r of cut) {
      if (r.from > from) kept.push(`${e.file}:${from}-${r.from - 1}`);
      from = r.to + 1;
    }
    if (from <= lines) kept.push(`${e.file}:${from}-${lines}`);
    return kept;
  });
}

// --survivors: re-run only the lines where the module's last full run (reports/mutation/<module>.json)
// left survivors, and merge: the quick check after writing tests for them. Valid only while the
// module's source is unchanged since that run (its lines must still be the same).
const survivorsOnly = process.argv.includes('--survivors');
// --list: print what each module mutates (the named code resolved to lines) and stop.
const listOnly = process.argv.includes('--list');
const only = process.argv.slice(2).filter((a) => a !== '--survivors' && a !== '--list');
const unknown = only.filter((n) => !MODULES.some((m) => m.name === n));
if (unknown.length) {
  console.error(`unknown module(s): ${unknown.join(', ')}; known: ${MODULES.map((m) => m.name).join(', ')}`);
  process.exit(2);
}
const chosen = only.length ? MODULES.filter((m) => only.includes(m.name)) : MODULES;

// Every module's entries are resolved before anything runs: one that no longer finds its code
// stops the run at once, whichever modules were asked for.
const resolved = new Map();
try {
  for (const m of MODULES) resolved.set(m.name, resolveMutate(m.mutate));
} catch (err) {
  console.error(`mutate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
if (listOnly) {
  for (const m of chosen) console.log(`${m.name.padEnd(16)} ${resolved.get(m.name).join(', ')}`);
  process.exit(0);
}

/** Killed and timed-out mutants over all that ran (survivors and uncovered ones count against). */
function score(results) {
  const count = (...statuses) => results.filter((r) => statuses.includes(r.status)).length;
  const detected = count('Killed', 'Timeout');
  const undetected = count('Survived', 'NoCoverage');
  return { detected, undetected, errors: count('CompileError', 'RuntimeError'), ignored: count('Ignored'), score: detected + undetected ? (100 * detected) / (detected + undetected) : 100 };
}

const outDir = path.resolve('reports/mutation');
mkdirSync(outDir, { recursive: true });
const rows = [];
for (const m of chosen) {
  const patterns = resolved.get(m.name);
  console.log(`\n# ===== mutate: ${m.name} (${patterns.join(', ')}) =====`);
  if (m.backend === 'postgres' && !process.env.CELLWISE_TEST_DATABASE_URL) {
    console.error(`# ${m.name}: not measured: runs only on PostgreSQL, set CELLWISE_TEST_DATABASE_URL`);
    rows.push({ name: m.name, skipped: 'runs only on PostgreSQL: set CELLWISE_TEST_DATABASE_URL' });
    continue;
  }
  let prior;
  let mutate = patterns;
  if (survivorsOnly) {
    prior = JSON.parse(readFileSync(path.join(outDir, `${m.name}.json`), 'utf8'));
    // A mutant spanning lines (a block) is only re-made when the range covers all of it.
    const lines = [...new Set(prior.filter((r) => r.status === 'Survived' || r.status === 'NoCoverage').map((r) => `${path.relative(process.cwd(), r.file)}:${r.line}-${r.endLine ?? r.line}`))];
    console.log(`# re-running the ${lines.length} line(s) with survivors: ${lines.join(', ')}`);
    if (!lines.length) {
      rows.push({ name: m.name, ...score(prior) });
      continue;
    }
    mutate = lines;
  }
  // Stryker's test processes inherit the environment as it is when they start.
  const backendBefore = process.env.CELLWISE_TEST_BACKEND;
  if (m.backend) process.env.CELLWISE_TEST_BACKEND = m.backend;
  const stryker = new Stryker({
    mutate,
    testRunner: 'command',
    commandRunner: { command: `node --import tsx --test --test-concurrency=1 --test-reporter=dot ${m.tests.join(' ')}` },
    coverageAnalysis: 'off',
    concurrency: 1,
    // A mutant that makes a test hang is detected (Timeout): after the dry run's time plus this.
    timeoutMS: 15_000,
    reporters: ['clear-text', 'progress'],
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: false },
    // Anchored: a bare 'web' would also drop src/providers/web.
    ignorePatterns: ['/bench', '/docs', '/reports', '/web', '/.bench-tmp', '/data'],
    tempDirName: '.stryker-tmp',
    cleanTempDir: process.env.STRYKER_KEEP_SANDBOX ? false : true,
    logLevel: 'warn',
    // Everything under test: no threshold, the scores are read by people.
    thresholds: { high: 85, low: 70, break: null },
  });
  let results;
  try {
    results = await stryker.runMutationTest();
  } catch (err) {
    // One module's failed dry run (a test failing without any mutant) does not stop the others.
    console.error(`# ${m.name}: not measured: ${err instanceof Error ? err.message : String(err)}`);
    rows.push({ name: m.name, failed: true });
    continue;
  } finally {
    if (backendBefore === undefined) delete process.env.CELLWISE_TEST_BACKEND;
    else process.env.CELLWISE_TEST_BACKEND = backendBefore;
  }
  let entries = results.map((r) => ({ file: r.fileName, line: r.location.start.line, column: r.location.start.column, endLine: r.location.end.line, mutator: r.mutatorName, replacement: r.replacement, status: r.status }));
  if (prior) {
    // Each re-made mutant replaces its own earlier result (matched by place, mutator and
    // replacement, one for one); the others keep theirs.
    const id = (r) => [r.file, r.line, r.column ?? '', r.mutator, r.replacement].join('\u0000');
    const loose = (r) => [r.file, r.line, r.mutator, r.replacement].join('\u0000');
    const fresh = [...entries];
    const take = (r) => {
      const i = fresh.findIndex((f) => id(f) === id(r)) >= 0 ? fresh.findIndex((f) => id(f) === id(r)) : fresh.findIndex((f) => r.column === undefined && loose(f) === loose(r));
      return i >= 0 ? fresh.splice(i, 1)[0] : r;
    };
    entries = [...prior.map(take), ...fresh];
  }
  rows.push({ name: m.name, ...score(entries) });
  writeFileSync(path.join(outDir, `${m.name}.json`), JSON.stringify(entries, null, 1));
}

console.log('\n# mutation scores (killed + timed out) / (killed + timed out + survived + no coverage)');
for (const r of rows) {
  if (r.skipped) console.log(`${r.name.padEnd(16)}   n/a   ${r.skipped}`);
  else if (r.failed) console.log(`${r.name.padEnd(16)}   n/a   the tests failed without mutants (see above)`);
  else console.log(`${r.name.padEnd(16)} ${r.score.toFixed(1).padStart(5)}%  ${r.detected} detected, ${r.undetected} undetected${r.errors ? `, ${r.errors} errors` : ''}`);
}
console.log(`(survivors per module: reports/mutation/<module>.json; the ones judged equivalent: docs/mutation-testing.md)`);
