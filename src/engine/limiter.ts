/**
 * Per-provider limits for LLM calls in this process: at most `concurrency` in flight, and with
 * `rpm` set, starts spaced evenly at 60,000 / rpm ms (a smooth rate never bursts above the limit,
 * unlike a per-minute window that refills all at once).
 */
export type Limiter = { run<T>(provider: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> };

export function createLimiter({ concurrency, rpm }: { concurrency: number; rpm?: number | undefined }): Limiter {
  const lanes = new Map<string, Lane>();
  const lane = (name: string) => {
    let l = lanes.get(name);
    if (!l) lanes.set(name, (l = new Lane(concurrency, rpm ? 60_000 / rpm : 0)));
    return l;
  };
  return { run: (provider, fn, signal) => lane(provider).run(fn, signal) };
}

class Lane {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private nextStart = 0;

  constructor(
    private readonly concurrency: number,
    private readonly intervalMs: number,
  ) {}

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      if (this.intervalMs) {
        // Reserve the next start slot before waiting, so concurrent callers queue behind each other.
        const at = Math.max(Date.now(), this.nextStart);
        this.nextStart = at + this.intervalMs;
        const wait = at - Date.now();
        if (wait > 0) await sleep(wait, signal);
      }
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` only drops when nobody waits.
      if (next) next();
      else this.active--;
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
