import { parentPort } from 'node:worker_threads';
import { extractDocument, type ExtractOptions } from './extract.ts';
import { ExtractionError, type ExtractionErrorCode } from './extraction-error.ts';

/** The extraction thread: one job at a time from extractor-pool.ts, answered by id. */
export type ExtractJob = { id: number; file: string; format: string; options: ExtractOptions };
export type ExtractAnswer = { id: number; ok: true; pages: Awaited<ReturnType<typeof extractDocument>> } | { id: number; ok: false; code: ExtractionErrorCode; reason: string };

const port = parentPort;
if (!port) throw new Error('extract-worker.ts runs as a worker thread');

port.on('message', (job: ExtractJob) => {
  extractDocument(job.file, job.format, job.options).then(
    (pages) => port.postMessage({ id: job.id, ok: true, pages } satisfies ExtractAnswer),
    (err: unknown) => {
      const known = err instanceof ExtractionError;
      const reason = known ? err.message : `extraction failed: ${err instanceof Error ? err.message : String(err)}`;
      port.postMessage({ id: job.id, ok: false, code: known ? err.code : 'EXTRACTION_FAILED', reason } satisfies ExtractAnswer);
    },
  );
});
port.postMessage('ready');
