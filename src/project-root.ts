import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The folder that holds cellwise's package.json. Found by walking up from this file, because the
 * sources (src/) and the compiled runtime (dist/src/) sit at different depths below it.
 */
export function projectRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'web'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cellwise: cannot find the project folder (package.json beside web/) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return (root = dir);
}
