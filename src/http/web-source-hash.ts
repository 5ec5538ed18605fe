import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The files a web build is made from: when any changes, the build in web/dist is stale. */
const INPUTS = ['src', 'index.html', 'vite.config.ts', 'public'];

/**
 * A hash of the web app's sources, written by the build into web/dist/build-info.json and compared
 * by the server, which answers "run npm run build:web" instead of serving an outdated app.
 * Undefined when there are no sources (an installed copy that ships only web/dist).
 */
export function webSourceHash(webDir: string): string | undefined {
  const files: string[] = [];
  const walk = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const name of readdirSync(p).sort()) walk(path.join(p, name));
    else files.push(p);
  };
  for (const input of INPUTS) walk(path.join(webDir, input));
  if (!files.some((f) => f.startsWith(path.join(webDir, 'src')))) return undefined;
  const hash = createHash('sha256');
  for (const f of files) hash.update(path.relative(webDir, f)).update('\0').update(readFileSync(f)).update('\0');
  return hash.digest('hex');
}
