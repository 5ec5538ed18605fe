import { Readable } from 'node:stream';
import { threadEntry } from '../../providers/thread-entry.ts';
import { createThreadPool } from '../../providers/thread-pool.ts';
import { formatPage, type FormatJob, type PageColumn, type RawPage } from './page-format.ts';
import type { WriteOptions } from './writers/common.ts';
import { csvHead } from './writers/csv.ts';
import { jsonKeys, jsonTail } from './writers/json.ts';

/**
 * CSV and JSON export pages turned into bytes off the event loop. Decoding a page's stored JSON
 * and writing its text is most of an export's CPU (of 100,000 rows x 10 columns: ~0.3 s decoding,
 * ~0.1 s writing, and the garbage both leave); on the main thread it stalls every other request
 * meanwhile. Pages go to `size` worker threads (providers/thread-pool.ts); size 0 (the default),
 * or threads that cannot start, format inline with the same code (page-format.ts). A thread idle
 * for `idleMs` ends, so a server that exported once does not keep its memory.
 *
 * Off by default (CELLWISE_EXPORT_THREADS): on 2 cores one thread made an export no faster (it then
 * runs at the thread's speed) and each thread kept about 50 MB while alive; what it buys is an
 * event loop free for other requests during a large export.
 */
export function createFormatPool({
  size = 0,
  idleMs = 30_000,
  code = threadEntry(import.meta.url, 'format-worker'),
}: {
  size?: number;
  idleMs?: number;
  /** The code a thread starts with (tests give one that cannot start). */
  code?: string;
} = {}) {
  const pool = createThreadPool<FormatJob, Buffer>({
    size,
    code,
    idleMs,
    // A page in hand keeps the process alive (a CLI export has nothing else that would).
    holdProcess: true,
    message: (job) => ({ job }),
    answer: (reply) => {
      const bytes = reply.bytes as Uint8Array | undefined;
      return bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Error(`an export page could not be written: ${String(reply.error ?? 'unknown error')}`);
    },
    inline: (job) => Buffer.from(formatPage(job)),
    stopped: () => new Error('the export page writer stopped while writing a page'),
  });
  return {
    /** One page's bytes in its file. */
    format: (job: FormatJob): Promise<Buffer> => pool.run(job),
    /** Threads it may run (0: it formats inline). */
    size,
    /** Threads running now. */
    get threads() {
      return pool.threads;
    },
    close: () => pool.close(),
  };
}
export type FormatPool = ReturnType<typeof createFormatPool>;

/**
 * A CSV or JSON file from raw pages, byte for byte what writeCsv or writeJson writes for the same
 * rows (format-pool.test.ts). Pipelined: while the pool's threads turn pages into bytes, this
 * thread reads the next from the store; at most one page per thread plus one are in hand, and the
 * next is read only once the consumer has taken the bytes before it.
 */
export function writeFormatted(pool: FormatPool, format: FormatJob['format'], pages: AsyncIterable<RawPage>, columns: readonly PageColumn[], options: WriteOptions): Readable {
  return Readable.from(
    (async function* () {
      const keyTexts = format === 'json' ? jsonKeys(options) : [];
      yield Buffer.from(format === 'csv' ? csvHead(options) : '[');
      let first = true;
      // Pages handed to the pool and not yet written: one per thread, plus the one being read.
      const pending: Promise<Buffer>[] = [];
      for await (const page of pages) {
        if (!page.rowIds.length) continue;
        const next = pool.format({ format, columns, options: { includeMetadata: options.includeMetadata }, keyTexts, first, page });
        // Awaited below; until then a failure must not count as unhandled.
        next.catch(() => {});
        first = false;
        pending.push(next);
        if (pending.length > pool.size) yield await pending.shift()!;
      }
      while (pending.length) yield await pending.shift()!;
      if (format === 'json') yield Buffer.from(jsonTail(first));
    })(),
  );
}
