/**
 * The fake OpenAI-compatible server in a process of its own, so that a benchmark's figures do not
 * include the fake's CPU time in the measured process. Started with child_process.fork; it sends
 * `{ url }` once listening and answers `{ cmd: 'stats' }` with the arrival times of the requests
 * it received and `{ cmd: 'reset' }` by forgetting them.
 */
import { startFakeOpenAI } from '../../test/fakes/openai-server.ts';

const latencyMs = Number(process.env.FAKE_LATENCY_MS ?? 50);
const fake = await startFakeOpenAI({ latencyMs });
process.send!({ url: fake.baseUrl });
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') process.send!({ count: fake.count, peakInFlight: fake.peakInFlight, at: fake.requests.map((r) => r.at) });
  if (m.cmd === 'reset') {
    fake.reset();
    process.send!({ reset: true });
  }
});
process.on('disconnect', () => void fake.close().then(() => process.exit(0)));
