import { availableParallelism } from 'node:os';
import { FetchError } from './fetcher.ts';
import type { ReadablePage } from './readable.ts';
import { threadEntry } from '../thread-entry.ts';
import { createThreadPool } from '../thread-pool.ts';

/**
 * Readable text off the event loop. Parsing a large page takes seconds of CPU (see readable.ts);
 * on the main thread that would stall every request, heartbeat and LLM call of the process. Pages
 * go to a few worker threads (one less than the cores, at most 4, at least 1; thread-pool.ts); a
 * page that takes longer than `timeoutMs` has its thread ended and fails. If the threads cannot
 * start, pages are read inline.
 */
export function createReadablePool({ size = Math.max(1, Math.min(4, availableParallelism() - 1)), timeoutMs = 20_000 }: { size?: number; timeoutMs?: number } = {}) {
  const pool = createThreadPool<{ html: string; url: string }, ReadablePage>({
    size,
    code: threadEntry(import.meta.url, 'readable-worker'),
    timeoutMs,
    message: (page) => page,
    answer: (reply, { url }) => (reply.page as ReadablePage | undefined) ?? new FetchError('FETCH_FAILED', `${url}: the page could not be read (${String(reply.error ?? 'unknown error')})`),
    // Loaded on first use: linkedom is hundreds of modules the server's start need not wait for.
    inline: async ({ html, url }) => (await import('./readable.ts')).readHtml(html, url),
    stopped: ({ url }, timedOut) => new FetchError('FETCH_FAILED', timedOut ? `${url}: reading the page took longer than ${timeoutMs} ms` : `${url}: the page reader stopped while reading it`),
  });
  return {
    read: (html: string, url: string): Promise<ReadablePage> => pool.run({ html, url }),
    close: () => pool.close(),
  };
}
export type ReadablePool = ReturnType<typeof createReadablePool>;
