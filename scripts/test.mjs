#!/usr/bin/env node
// Runs every test file with node's test runner: once on SQLite and, when
// CELLWISE_TEST_DATABASE_URL is set, once more on PostgreSQL. Prints one closing line.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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
for (const backend of backends) {
  console.log(`\n# ===== backend: ${backend} (${selected.length} files) =====`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...selected], {
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
      skipped += num('skipped');
      resolve(c);
    });
  });
  if (code !== 0 && failed === 0) failed++;
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
