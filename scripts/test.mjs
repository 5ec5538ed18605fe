#!/usr/bin/env node
// Runs every test file with node's test runner: once on SQLite and, when
// CELLWISE_TEST_DATABASE_URL is set, once more on PostgreSQL. Prints one closing line.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const roots = ['src', 'test'];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (name.endsWith('.test.ts')) files.push(full);
  }
};
roots.forEach(walk);
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;

const backends = ['sqlite'];
if (process.env.CELLWISE_TEST_DATABASE_URL) backends.push('postgres');
else console.log('# PostgreSQL tests skipped: set CELLWISE_TEST_DATABASE_URL (CI always does)');

let passed = 0;
let failed = 0;
let skipped = 0;
/** Why tests were skipped: "backend: reason" -> count. */
const why = new Map();
const skip = (reason, n) => {
  skipped += n;
  why.set(reason, (why.get(reason) ?? 0) + n);
};
/** Test files that failed outside their tests (see scripts/failure-reporter.mjs), per backend. */
const outside = [];
const readJsonLines = (file) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
};
const tmp = mkdtempSync(path.join(os.tmpdir(), 'cellwise-test-run-'));
for (const backend of backends) {
  console.log(`\n# ===== backend: ${backend} (${selected.length} files) =====`);
  const skipsFile = path.join(tmp, `${backend}-skips.jsonl`);
  const failuresFile = path.join(tmp, `${backend}-failures.jsonl`);
  const reporters = [
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${path.resolve('scripts/skip-reporter.mjs')}`,
    `--test-reporter-destination=${skipsFile}`,
    `--test-reporter=${path.resolve('scripts/failure-reporter.mjs')}`,
    `--test-reporter-destination=${failuresFile}`,
  ];
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...reporters, '--test-concurrency=2', ...selected], {
      env: { ...process.env, CELLWISE_TEST_BACKEND: backend },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      out += d;
    });
    child.on('close', (c) => {
      const num = (label) => Number((out.match(new RegExp(`^\\S* ?${label} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
      passed += num('pass');
      failed += num('fail');
      // No file: the run died before reporting; its failure is counted below.
      const lines = readJsonLines(skipsFile);
      // Skipped tests are counted by the runner; a skipped suite counts as one (its tests never ran,
      // so their number is unknown), and both are listed with their reasons.
      for (const l of lines) skip(`${backend}: ${l.reason}${l.suite ? ' (a whole suite, counted as one)' : ''}`, 1);
      const runnerSkips = num('skipped');
      const listed = lines.filter((l) => !l.suite).length;
      if (runnerSkips > listed) skip(`${backend}: reason not reported`, runnerSkips - listed);
      outside.push(...readJsonLines(failuresFile).map((f) => ({ backend, ...f })));
      resolve(c);
    });
  });
  if (code !== 0 && failed === 0) failed++;
  if (backend === 'sqlite' && !backends.includes('postgres')) {
    // The PostgreSQL run would repeat every test of these files: all of them are skipped there.
    skip('postgres: not run, set CELLWISE_TEST_DATABASE_URL (CI always does)', passed + failed + skipped);
  }
}
rmSync(tmp, { recursive: true, force: true });
if (outside.length) {
  console.log('\n# failed outside their tests:');
  for (const f of outside) {
    if (f.kind === 'late') console.log(`#   ${f.backend}: ${f.message}`);
    else {
      console.log(`#   ${f.backend}: ${path.relative(process.cwd(), f.file)} exited with ${f.signal ? `signal ${f.signal}` : `code ${f.exitCode}`}${f.stderr.length ? '; the end of its stderr:' : ''}`);
      for (const line of f.stderr) console.log(`#     ${line}`);
    }
  }
}
if (why.size) {
  console.log('\n# skipped:');
  for (const [reason, n] of why) console.log(`#   ${n} ${reason}`);
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
