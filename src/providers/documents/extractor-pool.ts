import { Worker } from 'node:worker_threads';
import type { ExtractedPage, ExtractOptions } from './extract.ts';
import type { ExtractAnswer, ExtractJob } from './extract-worker.ts';
import { ExtractionError } from './extraction-error.ts';
import { threadEntry } from '../thread-entry.ts';

/**
 * Document extraction off the event loop: a few worker threads (pdfjs, mammoth and tesseract.js run
 * there), one job each at a time. A job that runs past its timeout, or a thread that dies (a crash,
 * out of memory), fails that job with a reason and the thread is replaced: a bad file can never hang
 * or take down the server. The memory cap makes a decompression bomb kill its thread, not the process.
 */
export type ExtractorPool = {
  /** The pages of a local file; rejects with ExtractionError (a reason for the user) on any failure. */
  extract(file: string, format: string, options: ExtractOptions, timeoutMs: number): Promise<ExtractedPage[]>;
  /** Stops every thread; jobs in flight reject. */
  close(): Promise<void>;
};

// The big JavaScript libraries are preloaded (see threadEntry). pdf.worker.mjs is what pdfjs loads
// for its in-thread parser. Specifiers are resolved here, to absolute URLs: an eval'd thread would
// resolve bare names from the current directory, which need not be the project's.
const PRELOAD = ['pdfjs-dist/legacy/build/pdf.mjs', 'pdfjs-dist/legacy/build/pdf.worker.mjs', 'mammoth', 'tesseract.js', 'node-html-parser'].map((m) => import.meta.resolve(m));
const BOOTSTRAP = threadEntry(import.meta.url, 'extract-worker', PRELOAD);
/** A thread that has not started within this long is reported as failed (it never counts against a job's timeout). */
const START_TIMEOUT_MS = 120_000;
const WORKER_MEMORY_MB = 1024;

type Pending = { job: Omit<ExtractJob, 'id'>; timeoutMs: number; resolve: (pages: ExtractedPage[]) => void; reject: (err: Error) => void };
type Slot = { worker: Worker | undefined; ready: Promise<void> | undefined; busy: boolean };

export function createExtractorPool({ size }: { size: number }): ExtractorPool {
  const slots: Slot[] = Array.from({ length: Math.max(1, size) }, () => ({ worker: undefined, ready: undefined, busy: false }));
  const queue: Pending[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(slot: Slot): Promise<void> {
    const worker = new Worker(BOOTSTRAP, { eval: true, resourceLimits: { maxOldGenerationSizeMb: WORKER_MEMORY_MB } });
    worker.unref();
    slot.worker = worker;
    slot.ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`extraction thread exited (${code}) while starting`)));
    });
    worker.on('exit', () => {
      if (slot.worker === worker) slot.worker = slot.ready = undefined;
    });
    // An 'error' with no listener would be thrown in this (the API's) thread. A job in flight hears it
    // through its own listener; between jobs the thread simply exits and the next job starts another.
    worker.on('error', () => {});
    return slot.ready;
  }

  function pump() {
    for (const slot of slots) {
      if (closed || slot.busy || !queue.length) continue;
      run(slot, queue.shift()!);
    }
  }

  function run(slot: Slot, pending: Pending) {
    slot.busy = true;
    const id = nextId++;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: { pages: ExtractedPage[] } | { error: Error }, kill: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const worker = slot.worker;
      worker?.off('message', onMessage);
      worker?.off('error', onError);
      worker?.off('exit', onExit);
      if (kill && worker) {
        slot.worker = slot.ready = undefined;
        void worker.terminate();
      }
      slot.busy = false;
      if ('pages' in outcome) pending.resolve(outcome.pages);
      else pending.reject(outcome.error);
      pump();
    };
    const onMessage = (answer: ExtractAnswer | 'ready') => {
      if (answer === 'ready' || answer.id !== id) return;
      finish(answer.ok ? { pages: answer.pages } : { error: new ExtractionError(answer.code, answer.reason) }, false);
    };
    const onError = (err: Error) => finish({ error: threadFailure(err) }, true);
    const onExit = (code: number) => finish({ error: new ExtractionError('EXTRACTION_FAILED', `the extraction thread stopped unexpectedly (exit code ${code})`) }, true);
    (async () => {
      const ready = slot.worker && slot.ready ? slot.ready : spawn(slot);
      timer = setTimeout(() => finish({ error: new ExtractionError('EXTRACTION_FAILED', 'the extraction thread did not start') }, true), START_TIMEOUT_MS);
      await ready;
      if (settled || !slot.worker) return;
      clearTimeout(timer);
      // The job's own clock starts once a thread is ready: starting one is not the document's fault.
      timer = setTimeout(() => finish({ error: new ExtractionError('DOCUMENT_TIMEOUT', `extraction did not finish within ${Math.round(pending.timeoutMs / 1000)} s (CELLWISE_DOCUMENT_TIMEOUT_MS)`) }, true), pending.timeoutMs);
      slot.worker.on('message', onMessage);
      slot.worker.on('error', onError);
      slot.worker.on('exit', onExit);
      slot.worker.postMessage({ ...pending.job, id } satisfies ExtractJob);
    })().catch((err: unknown) => finish({ error: threadFailure(err) }, true));
  }

  return {
    extract(file, format, options, timeoutMs) {
      if (closed) return Promise.reject(new ExtractionError('EXTRACTION_FAILED', 'the server is stopping'));
      return new Promise<ExtractedPage[]>((resolve, reject) => {
        queue.push({ job: { file, format, options }, timeoutMs, resolve, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const p of queue.splice(0)) p.reject(new ExtractionError('EXTRACTION_FAILED', 'the server is stopping'));
      await Promise.all(slots.map(async (slot) => {
        const worker = slot.worker;
        slot.worker = slot.ready = undefined;
        if (worker) await worker.terminate();
      }));
    },
  };
}

function threadFailure(err: unknown): ExtractionError {
  const code = (err as { code?: string }).code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') return new ExtractionError('DOCUMENT_TOO_LARGE', `the document needs more than ${WORKER_MEMORY_MB} MB to extract`);
  return new ExtractionError('EXTRACTION_FAILED', `the extraction thread failed: ${err instanceof Error ? err.message : String(err)}`);
}
