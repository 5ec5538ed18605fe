#!/usr/bin/env node
// npm run build:server: compiles src/ to dist/ with tsc (tsconfig.build.json), after emptying
// dist/ so that a file deleted from src/ cannot linger in the compiled runtime.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

rmSync('dist', { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
