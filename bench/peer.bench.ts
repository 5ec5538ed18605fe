/**
 * Side by side with NocoDB (issue 13): runs the peer harness, which loads the same 100,000 x 10
 * rows into NocoDB 0.262.5 and into this checkout (`npm start`, built), one after the other on this
 * machine, and prints the ratio table (above 1: cellwise is faster).
 *
 * The harness is not part of this repository: point CELLWISE_PEER_HARNESS at its folder (the one
 * holding side-by-side.sh); it defaults to ../shared/peer beside the checkout. NocoDB is installed
 * into its PEER_DIR on first use (about 600 MB, a few minutes).
 *
 * Run: npm run build && npm run bench -- peer
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const harness = path.resolve(process.env.CELLWISE_PEER_HARNESS ?? path.join(process.cwd(), '..', 'shared', 'peer'));
const script = path.join(harness, 'side-by-side.sh');
if (!existsSync(script)) {
  console.log(`# peer benchmark skipped: no harness at ${script} (set CELLWISE_PEER_HARNESS)`);
  process.exit(0);
}
if (!existsSync(path.join(process.cwd(), 'dist', 'src', 'cli', 'main.js'))) {
  console.error('# peer benchmark: build first (npm run build): the harness runs `npm start`');
  process.exit(1);
}
console.log(`# cellwise vs NocoDB, side by side (${script})`);
const r = spawnSync('bash', [script], { stdio: 'inherit', env: { ...process.env, CW_DIR: process.cwd() } });
process.exit(r.status ?? 1);
