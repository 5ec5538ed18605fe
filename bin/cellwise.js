#!/usr/bin/env node
// Runs the compiled server (dist/, built by `npm run build`, which `npm ci` runs through `prepare`).
// In a checkout that has not been built yet, it runs the TypeScript sources through tsx instead.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('cellwise: dist/ not built (npm run build); running the TypeScript sources through tsx\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
