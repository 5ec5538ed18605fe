/**
 * Per-provider limits for LLM calls in this process: at most `concurrency()` in flight, and with
 * `rpm()` set, starts spaced evenly at 60,000 / (rpm - 1) ms. Spacing, unlike a per-minute window that
 * refills all at once, never bursts: n starts spaced exactly 60,000 / n ms apart put at most n in
 * any 60-second window. The limits are read on every call, because this process's share of the
 * deployment's limits changes as engine processes come and go (see shares.ts); `pump()` lets
 * waiting calls re-check after a change.
 */
export type Limiter = { run<T>(provider: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T>; pump(): void };
type Limit = number | (() => number);
type RpmLimit = number | undefined | (() => number | undefined);

export function createLimiter({ concurrency, rpm }: { concurrency: Limit; rpm?: RpmLimit }): Limiter {
  const maxActive = typeof concurrency === 'function' ? concurrency : () => concurrency;
  const perMinute = typeof rpm === 'function' ? rpm : () => rpm;
  const lanes = new Map<string, Lane>();
  const lane = (name: string) => {
    let l = lanes.get(name);
    if (!l) lanes.set(name, (l = new Lane(maxActive, perMinute)));
    return l;
  };
  return {
    run: (provider, fn, signal) => lane(provider).run(fn, signal),
    pump: () => lanes.forEach((l) => l.pump()),
  };
}

class Lane {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private nextStart = 0;

  constructor(
    private readonly concurrency: () => number,
    private readonly rpm: () => number | undefined,
  ) {}

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let woken = false;
    // An RPM share of 0 (more processes than requests per minute) is no slot at all.
    while (this.active >= this.concurrency() || this.rpm() === 0) {
      // A caller woken but beaten to the slot keeps its place at the head of the queue.
      await new Promise<void>((resolve) => (woken ? this.waiting.unshift(resolve) : this.waiting.push(resolve)));
      woken = true;
    }
    this.active++;
    try {
      const rpm = this.rpm();
      if (rpm !== undefined) {
        // Reserve the next start slot before waiting, so concurrent callers queue behind each other.
        const at = Math.max(Date.now(), this.nextStart);
        // One start fewer than the share per minute: n starts spaced 60,000 / n ms apart fit n in any
        // minute only on an exact grid; a timer that fires late, or a request that travels slower
        // than the next, can put n + 1 in a window. Spacing for n - 1 absorbs that jitter.
        this.nextStart = at + 60_000 / Math.max(rpm > 1 ? rpm - 1 : rpm, 1e-9);
        const wait = at - Date.now();
        if (wait > 0) await sleep(wait, signal);
      }
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Wakes as many waiting calls as there are free slots now (after the limits went up). */
  pump() {
    if (this.rpm() === 0) return;
    for (let free = this.concurrency() - this.active; free > 0 && this.waiting.length; free--) this.waiting.shift()!();
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
