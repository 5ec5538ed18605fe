import { fork, type ChildProcess } from 'node:child_process';

export type FakeStats = { count: number; peakInFlight: number; at: number[] };

/** Starts bench/support/fake-llm-process.ts and talks to it over IPC. */
export async function startFakeProcess(latencyMs: number) {
  const child: ChildProcess = fork(new URL('./fake-llm-process.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, FAKE_LATENCY_MS: String(latencyMs) } });
  const next = <T>() => new Promise<T>((resolve) => child.once('message', (m) => resolve(m as T)));
  const { url } = await next<{ url: string }>();
  return {
    baseUrl: url,
    pid: child.pid!,
    async stats(): Promise<FakeStats> {
      const reply = next<FakeStats>();
      child.send({ cmd: 'stats' });
      return reply;
    },
    async reset(): Promise<void> {
      const reply = next<unknown>();
      child.send({ cmd: 'reset' });
      await reply;
    },
    close() {
      child.disconnect();
    },
  };
}
