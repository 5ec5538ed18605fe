import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs } from './engine.ts';
import { labelConfidence } from './executors/classification.ts';
import { createLimiter } from './limiter.ts';

describe('engine units', () => {
  it('backs off exponentially with jitter, capped, honouring a longer Retry-After', () => {
    for (let i = 0; i < 50; i++) {
      const first = backoffMs(1);
      assert.ok(first >= 250 && first <= 500, String(first));
      const third = backoffMs(3);
      assert.ok(third >= 1000 && third <= 2000, String(third));
      assert.ok(backoffMs(20) <= 30_000);
    }
    assert.equal(backoffMs(1, 5000), 5000);
  });

  it('reads a label confidence from the log-probability of its first token', () => {
    const text = '{"label":"spam","confidence":0.7}';
    const tokens = [{ token: '{"label":"', logprob: -0.001 }, { token: 'sp', logprob: Math.log(0.8) }, { token: 'am","confidence":0.7}', logprob: -0.01 }];
    assert.equal(labelConfidence(text, tokens, ['spam']), 0.8);
    const multi = '{"labels":["a","b"]}';
    const mt = [{ token: '{"labels":["', logprob: 0 }, { token: 'a', logprob: Math.log(0.9) }, { token: '","', logprob: 0 }, { token: 'b', logprob: Math.log(0.6) }, { token: '"]}', logprob: 0 }];
    assert.equal(labelConfidence(multi, mt, ['a', 'b']), 0.6);
    // Tokens that do not spell the text: no confidence rather than a wrong one.
    assert.equal(labelConfidence(text, [{ token: 'x', logprob: 0 }], ['spam']), undefined);
  });

  it('limits calls in flight per provider and spaces starts under an RPM limit', async () => {
    let active = 0;
    let peak = 0;
    const starts: number[] = [];
    const job = (limiter: ReturnType<typeof createLimiter>) => () =>
      limiter.run('openai', async () => {
        starts.push(Date.now());
        peak = Math.max(peak, ++active);
        await new Promise((r) => setTimeout(r, 20));
        active--;
      });
    await Promise.all(Array.from({ length: 6 }, job(createLimiter({ concurrency: 2 }))));
    assert.equal(peak, 2);
    starts.length = 0;
    await Promise.all(Array.from({ length: 4 }, job(createLimiter({ concurrency: 8, rpm: 600 }))));
    // Slots are reserved on an exact 100 ms grid; timer lateness can shorten one gap, never the rate.
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i]! - starts[0]! >= i * 100 - 5, `starts ${starts.join(',')}`);
  });
});
