import { Worker } from 'node:worker_threads';

type Job<In, Out> = { id: number; input: In; resolve: (out: Out) => void; reject: (e: Error) => void; timer?: NodeJS.Timeout; timedOut?: boolean };
type Slot<In, Out> = { worker: Worker; job?: Job<In, Out>; idle?: NodeJS.Timeout };

export type ThreadPoolOptions<In, Out> = {
  /** Threads it may run; 0: every job runs inline. */
  size: number;
  /** The code a thread starts with (thread-entry.ts). */
  code: string;
  /** What a thread is sent for a job; the pool adds the job's `id`, which the answer carries back. */
  message: (input: In) => Record<string, unknown>;
  /** A thread's answer to a job: its result, or the error the job fails with. */
  answer: (reply: Record<string, unknown>, input: In) => Out | Error;
  /** The same work on this thread: where threads are off or cannot start. */
  inline: (input: In) => Out | Promise<Out>;
  /** The error of a job whose thread ended under it (`timedOut`: ended for taking over `timeoutMs`). */
  stopped: (input: In, timedOut: boolean) => Error;
  /** A job held longer than this ends its thread and fails. */
  timeoutMs?: number;
  /** A thread idle this long ends, so a burst of work does not keep its memory. */
  idleMs?: number;
  /** A job on a thread keeps the process alive (a CLI command may have nothing else that would). */
  holdProcess?: boolean;
};

/**
 * CPU-heavy jobs off the event loop, on up to `size` worker threads started on demand. A thread
 * that fails before it ever answered could not start (no tsx, a broken install): the job it held
 * and every job after it run inline. Idle threads never keep the process alive.
 */
export function createThreadPool<In, Out>(options: ThreadPoolOptions<In, Out>) {
  const { size, code, timeoutMs, idleMs } = options;
  const slots: Slot<In, Out>[] = [];
  const queue: Job<In, Out>[] = [];
  let nextId = 0;
  let broken = size === 0;

  function spawn(): Slot<In, Out> {
    const worker = new Worker(code, { eval: true });
    const slot: Slot<In, Out> = { worker };
    let answered = false;
    worker.on('message', (reply: Record<string, unknown> & { id: number }) => {
      answered = true;
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      clearTimeout(job.timer);
      slot.job = undefined;
      if (options.holdProcess) worker.unref();
      const out = options.answer(reply, job.input);
      if (out instanceof Error) job.reject(out);
      else job.resolve(out);
      pump();
    });
    worker.on('error', () => {
      if (!answered) broken = true;
    });
    worker.on('exit', () => {
      clearTimeout(slot.idle);
      const at = slots.indexOf(slot);
      if (at >= 0) slots.splice(at, 1);
      const job = slot.job;
      slot.job = undefined;
      if (job) {
        clearTimeout(job.timer);
        if (broken) inline(job);
        else job.reject(options.stopped(job.input, job.timedOut === true));
      }
      pump();
    });
    // After the listeners: attaching one can ref the worker again.
    worker.unref();
    slots.push(slot);
    return slot;
  }

  function inline(job: Job<In, Out>) {
    Promise.resolve()
      .then(() => options.inline(job.input))
      .then(job.resolve, (err: unknown) => job.reject(err instanceof Error ? err : new Error(String(err))));
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
      if (options.holdProcess) slot.worker.ref();
      if (timeoutMs !== undefined) {
        job.timer = setTimeout(() => {
          job.timedOut = true;
          void slot.worker.terminate();
        }, timeoutMs);
      }
      slot.worker.postMessage({ ...options.message(job.input), id: job.id });
    }
    if (idleMs === undefined) return;
    for (const slot of slots) {
      if (slot.job) continue;
      clearTimeout(slot.idle);
      slot.idle = setTimeout(() => void slot.worker.terminate(), idleMs).unref();
    }
  }

  return {
    run(input: In): Promise<Out> {
      return new Promise((resolve, reject) => {
        queue.push({ id: nextId++, input, resolve, reject });
        pump();
      });
    },
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
