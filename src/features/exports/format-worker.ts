import { parentPort } from 'node:worker_threads';
import { formatPage, type FormatJob } from './page-format.ts';

/** The worker side of format-pool.ts: one page at a time, answered by job id with its bytes (handed over, not copied). */
parentPort!.on('message', (m: { id: number; job: FormatJob }) => {
  try {
    const bytes = Buffer.from(formatPage(m.job));
    // A large Buffer owns its memory and can be transferred; a small one may sit in Node's shared pool.
    const owns = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    parentPort!.postMessage({ id: m.id, bytes }, owns ? [bytes.buffer] : []);
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
