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
//
// node:test has no Stryker runner plugin, so the command runner starts `node --test` per mutant
// (the active mutant travels in an environment variable, so worker threads and child processes see
// it too). Concurrency 1: the tests start servers and databases of their own. Not run in CI: slow.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Stryker } from '@stryker-mutator/core';

/**
 * name: the module; mutate: files or line ranges (`file:start-end`) holding the guards; tests: the
 * test files that exercise them. Line ranges keep Stryker off the rest of a big file. backend:
 * 'postgres' for code that only runs there (the tests then run with CELLWISE_TEST_BACKEND=postgres
 * and need CELLWISE_TEST_DATABASE_URL; without it the module is reported as not measured).
 */
const MODULES = [
  { name: 'leases', mutate: ['src/store/tasks.ts:169-189', 'src/store/tasks.ts:317-326', 'src/store/tasks.ts:384-392', 'src/engine/group-commit.ts'], tests: ['src/store/tasks.test.ts', 'src/engine/group-commit.test.ts'] },
  { name: 'tenancy', mutate: ['src/features/datasets/dataset-access.ts'], tests: ['test/auth.test.ts', 'test/rows-cells.test.ts', 'test/datasets.test.ts'] },
  // The policy's range table alone makes ~250 mutants: its unit and SSRF tests only; the fetcher's address
  // check and redirect loop against the SSRF and fetcher suites.
  { name: 'address-policy', mutate: ['src/providers/web/address-policy.ts'], tests: ['src/providers/web/address-policy.test.ts', 'src/providers/web/ssrf.test.ts'] },
  { name: 'fetcher-checks', mutate: ['src/providers/web/http-fetcher.ts:43-59', 'src/providers/web/http-fetcher.ts:142-158'], tests: ['src/providers/web/ssrf.test.ts', 'src/providers/web/http-fetcher.test.ts'] },
  { name: 'signed-links', mutate: ['src/http/signed-links.ts'], tests: ['src/http/signed-links.test.ts'] },
  { name: 'idempotency', mutate: ['src/http/idempotency.ts'], tests: ['src/http/idempotency.test.ts'] },
  { name: 'auth-scopes', mutate: ['src/http/auth.ts', 'src/features/keys/keys.service.ts:19-25', 'src/features/keys/keys.service.ts:43-54'], tests: ['src/features/keys/scopes.test.ts', 'test/auth.test.ts'] },
  // The PostgreSQL counter runs only against PostgreSQL: it is its own module, measured on that backend.
  { name: 'rate-limit', mutate: ['src/http/rate-limit.ts:1-34', 'src/http/rate-limit.ts:52-200'], tests: ['test/rate-limits.test.ts'] },
  { name: 'rate-limit-pg', backend: 'postgres', mutate: ['src/http/rate-limit.ts:40-51'], tests: ['test/rate-limits.test.ts'] },
  { name: 'quotes', mutate: ['src/engine/executors/web-quotes.ts', 'src/engine/executors/document-chunks.ts:71-86'], tests: ['src/engine/executors/web-quotes.test.ts', 'src/engine/executors/document-chunks.test.ts'] },
  { name: 'writers', mutate: ['src/features/exports/writers/csv.ts', 'src/features/exports/writers/xlsx.ts:14-22'], tests: ['src/features/exports/writers/csv.test.ts', 'src/features/exports/writers/xlsx.test.ts'] },
];

// --survivors: re-run only the lines where the module's last full run (reports/mutation/<module>.json)
// left survivors, and merge: the quick check after writing tests for them. Valid only while the
// module's source is unchanged since that run (its lines must still be the same).
const survivorsOnly = process.argv.includes('--survivors');
const only = process.argv.slice(2).filter((a) => a !== '--survivors');
const unknown = only.filter((n) => !MODULES.some((m) => m.name === n));
if (unknown.length) {
  console.error(`unknown module(s): ${unknown.join(', ')}; known: ${MODULES.map((m) => m.name).join(', ')}`);
  process.exit(2);
}
const chosen = only.length ? MODULES.filter((m) => only.includes(m.name)) : MODULES;

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
  console.log(`\n# ===== mutate: ${m.name} (${m.mutate.join(', ')}) =====`);
  if (m.backend === 'postgres' && !process.env.CELLWISE_TEST_DATABASE_URL) {
    console.error(`# ${m.name}: not measured: runs only on PostgreSQL, set CELLWISE_TEST_DATABASE_URL`);
    rows.push({ name: m.name, skipped: 'runs only on PostgreSQL: set CELLWISE_TEST_DATABASE_URL' });
    continue;
  }
  let prior;
  let mutate = m.mutate;
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
