type Host = { active: number; nextStart: number; delayMs: number; queue: { start: () => void; signal?: AbortSignal }[]; timer?: NodeJS.Timeout };

/**
 * Per-host politeness: at most `concurrency` requests in flight to one host, and request starts at
 * least `delayMs` apart (or the host's robots.txt Crawl-delay, capped at `maxDelayMs`, when longer).
 * Waiters are served in arrival order; a waiter whose signal fires leaves the queue.
 */
export function createPoliteness({ concurrency, delayMs, maxDelayMs = 30_000 }: { concurrency: number; delayMs: number; maxDelayMs?: number }) {
  const hosts = new Map<string, Host>();

  function pump(key: string, h: Host) {
    while (h.queue.length && h.active < concurrency) {
      const wait = h.nextStart - Date.now();
      if (wait > 0) {
        h.timer ??= setTimeout(() => {
          h.timer = undefined;
          pump(key, h);
        }, wait);
        return;
      }
      h.active++;
      h.nextStart = Date.now() + h.delayMs;
      h.queue.shift()!.start();
    }
    if (!h.active && !h.queue.length && !h.timer && h.nextStart <= Date.now()) hosts.delete(key);
  }

  return {
    /** Runs `fn` when the host has a free slot. */
    async run<T>(host: string, fn: () => Promise<T>, options: { crawlDelayMs?: number; signal?: AbortSignal } = {}): Promise<T> {
      const key = host.toLowerCase();
      let h = hosts.get(key);
      if (!h) hosts.set(key, (h = { active: 0, nextStart: 0, delayMs, queue: [] }));
      h.delayMs = Math.max(delayMs, Math.min(maxDelayMs, options.crawlDelayMs ?? 0));
      const entry = h;
      await new Promise<void>((resolve, reject) => {
        const waiter = { start: resolve, ...(options.signal ? { signal: options.signal } : {}) };
        entry.queue.push(waiter);
        options.signal?.addEventListener(
          'abort',
          () => {
            const at = entry.queue.indexOf(waiter);
            if (at < 0) return;
            entry.queue.splice(at, 1);
            reject(options.signal!.reason);
          },
          { once: true },
        );
        pump(key, entry);
      });
      try {
        return await fn();
      } finally {
        entry.active--;
        pump(key, entry);
      }
    },
  };
}
export type Politeness = ReturnType<typeof createPoliteness>;
