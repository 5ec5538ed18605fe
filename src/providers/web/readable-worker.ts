import { parentPort } from 'node:worker_threads';
import { readHtml } from './readable.ts';

/** The worker side of readable-pool.ts: one page at a time, answered by job id. */
parentPort!.on('message', (job: { id: number; html: string; url: string }) => {
  try {
    parentPort!.postMessage({ id: job.id, page: readHtml(job.html, job.url) });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) });
  }
});
