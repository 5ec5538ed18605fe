import { writeFileSync } from 'node:fs';
import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { webSourceHash } from '../src/http/web-source-hash.ts';

const webDir = import.meta.dirname;

/** Records which sources this build was made from, so the server can tell a stale build. */
function buildInfo(): Plugin {
  return {
    name: 'cellwise-build-info',
    apply: 'build',
    closeBundle() {
      writeFileSync(path.join(webDir, 'dist', 'build-info.json'), JSON.stringify({ sourceHash: webSourceHash(webDir), builtAt: new Date().toISOString() }));
    },
  };
}

export default defineConfig({
  root: webDir,
  plugins: [react(), buildInfo()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 2000 },
});
