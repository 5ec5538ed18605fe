import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { threadEntry } from '../../providers/thread-entry.ts';
import { formatPage, type FormatJob, type PageColumn, type RawPage } from './page-format.ts';
import type { WriteOptions } from './writers/common.ts';
import { csvHead } from './writers/csv.ts';
import { jsonKeys, jsonTail } from './writers/json.ts';

type Job = { id: number; job: FormatJob; resolve: (b: Buffer) => void; reject: (e: Error) => void };
type Slot = { worker: Worker; job?: Job; idle?: NodeJS.Timeout };

/**
 * CSV and JSON export pages turned into bytes off the event loop. Decoding a page's stored JSON
 * and writing its text is most of an export's CPU (of 100,000 rows x 10 columns: ~0.3 s decoding,
 * ~0.1 s writing, and the garbage both leave); on the main thread it stalls every other request
 * meanwhile. Pages go to `size` worker threads; size 0 (the default), or workers that cannot
 * start, format inline with the same code (page-format.ts). A thread idle for `idleMs` ends, so a
 * server that exported once does not keep its memory.
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
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let nextId = 0;
  let broken = size === 0;

  function spawn(): Slot {
    const worker = new Worker(code, { eval: true });
    const slot: Slot = { worker };
    let answered = false;
    worker.on('message', (m: { id: number; bytes?: Uint8Array; error?: string }) => {
      answered = true;
      const job = slot.job;
      if (!job || job.id !== m.id) return;
      slot.job = undefined;
      worker.unref();
      if (m.bytes) job.resolve(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
      else job.reject(new Error(`an export page could not be written: ${m.error ?? 'unknown error'}`));
      pump();
    });
    worker.on('error', () => {
      // A worker that never answered could not start (no tsx): format inline from now on.
      if (!answered) broken = true;
    });
    worker.on('exit', () => {
      clearTimeout(slot.idle);
      const at = slots.indexOf(slot);
      if (at >= 0) slots.splice(at, 1);
      const job = slot.job;
      slot.job = undefined;
      if (job) {
        if (broken) inline(job);
        else job.reject(new Error('the export page writer stopped while writing a page'));
      }
      pump();
    });
    // Idle threads must not keep the process alive (after the listeners: attaching one can ref again).
    worker.unref();
    slots.push(slot);
    return slot;
  }

  function inline(job: Job) {
    try {
      job.resolve(Buffer.from(formatPage(job.job)));
    } catch (err) {
      job.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  function pump() {
    while (queue.length) {
      if (broken) {
        inline(queue.shift()!);
        continue;
      }
      const slot = slots.find((s) => !s.job) ?? (slots.length < size ? spawn() : undefined);
      if (!slot) break;
      const job = queue.shift()!;
      clearTimeout(slot.idle);
      slot.job = job;
      // A page in hand keeps the process alive (a CLI export has nothing else that would); an idle thread does not.
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, job: job.job });
    }
    for (const slot of slots) {
      if (slot.job) continue;
      clearTimeout(slot.idle);
      slot.idle = setTimeout(() => void slot.worker.terminate(), idleMs).unref();
    }
  }

  return {
    /** One page's bytes in its file. */
    format(job: FormatJob): Promise<Buffer> {
      return new Promise((resolve, reject) => {
        queue.push({ id: nextId++, job, resolve, reject });
        pump();
      });
    },
    /** Threads it may run (0: it formats inline). */
    size,
    /** Threads running now. */
    get threads() {
      return slots.length;
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
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
