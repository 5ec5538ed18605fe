import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FetchError } from './fetcher.ts';
import type { ReadablePage } from './readable.ts';
import { threadEntry } from '../thread-entry.ts';

type Job = { id: number; html: string; url: string; resolve: (p: ReadablePage) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout; timedOut?: boolean };
type Slot = { worker: Worker; job?: Job };

/**
 * Readable text off the event loop. Parsing a large page takes seconds of CPU (see readable.ts);
 * on the main thread that would stall every request, heartbeat and LLM call of the process. Pages
 * go to a few worker threads (one less than the cores, at most 4, at least 1); a page that takes
 * longer than `timeoutMs` has its worker ended and fails. If the workers cannot start, pages are
 * read inline.
 */
export function createReadablePool({ size = Math.max(1, Math.min(4, availableParallelism() - 1)), timeoutMs = 20_000 }: { size?: number; timeoutMs?: number } = {}) {
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let nextId = 0;
  let broken = false;

  function spawn(): Slot {
    const worker = new Worker(threadEntry(import.meta.url, 'readable-worker'), { eval: true });
    const slot: Slot = { worker };
    let answered = false;
    worker.on('message', (m: { id: number; page?: ReadablePage; error?: string }) => {
      answered = true;
      const job = slot.job;
      if (!job || job.id !== m.id) return;
      clearTimeout(job.timer);
      slot.job = undefined;
      if (m.page) job.resolve(m.page);
      else job.reject(new FetchError('FETCH_FAILED', `${job.url}: the page could not be read (${m.error ?? 'unknown error'})`));
      pump();
    });
    worker.on('error', () => {
      // A worker that never answered could not start (no tsx): read inline from now on.
      if (!answered) broken = true;
    });
    worker.on('exit', () => {
      const at = slots.indexOf(slot);
      if (at >= 0) slots.splice(at, 1);
      const job = slot.job;
      slot.job = undefined;
      if (job) {
        clearTimeout(job.timer);
        if (broken) inline(job);
        else job.reject(new FetchError('FETCH_FAILED', job.timedOut ? `${job.url}: reading the page took longer than ${timeoutMs} ms` : `${job.url}: the page reader stopped while reading it`));
      }
      pump();
    });
    // Idle readers must not keep the process alive (after the listeners: attaching one can ref again).
    worker.unref();
    slots.push(slot);
    return slot;
  }

  function inline(job: Job) {
    // Loaded on first use: linkedom is hundreds of modules the server's start need not wait for.
    import('./readable.ts').then(({ readHtml }) => job.resolve(readHtml(job.html, job.url))).catch((err: unknown) => job.reject(err instanceof Error ? err : new Error(String(err))));
  }

  function pump() {
    while (queue.length) {
      if (broken) {
        inline(queue.shift()!);
        continue;
      }
      const slot = slots.find((s) => !s.job) ?? (slots.length < size ? spawn() : undefined);
      if (!slot) return;
      const job = queue.shift()!;
      slot.job = job;
      job.timer = setTimeout(() => {
        job.timedOut = true;
        void slot.worker.terminate();
      }, timeoutMs);
      slot.worker.postMessage({ id: job.id, html: job.html, url: job.url });
    }
  }

  return {
    read(html: string, url: string): Promise<ReadablePage> {
      return new Promise((resolve, reject) => {
        queue.push({ id: nextId++, html, url, resolve, reject });
        pump();
      });
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
export type ReadablePool = ReturnType<typeof createReadablePool>;
