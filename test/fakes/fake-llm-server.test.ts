import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exampleFor } from './fake-llm-server.ts';
import { startFakeOpenAI } from './openai-server.ts';

describe('fake LLM servers', () => {
  it('builds minimal valid values for common schema shapes', () => {
    assert.deepEqual(
      exampleFor({
        type: 'object',
        properties: {
          s: { type: 'string', minLength: 3 },
          n: { type: 'number', minimum: 5 },
          i: { type: 'integer', maximum: 0 },
          b: { type: 'boolean' },
          e: { enum: ['first', 'second'] },
          c: { const: 42 },
          maybe: { type: ['null', 'string'] },
          either: { anyOf: [{ type: 'null' }, { type: 'integer' }] },
          list: { type: 'array', items: { type: 'string' }, minItems: 2 },
          ref: { $ref: '#/$defs/point' },
        },
        $defs: { point: { type: 'object', properties: { x: { type: 'number' } } } },
      }),
      { s: 'xxx', n: 5, i: 0, b: true, e: 'first', c: 42, maybe: 'x', either: 1, list: ['x', 'x'], ref: { x: 1 } },
    );
  });

  it('records requests, applies latency from arrival and reuses connections', async () => {
    const fake = await startFakeOpenAI({ latencyMs: 20, respond: (req) => (req.index === 1 ? { kind: 'text', text: 'second' } : undefined) });
    try {
      const post = () =>
        fetch(`${fake.baseUrl}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) }).then(
          (r) => r.json() as Promise<{ choices: { message: { content: string } }[] }>,
        );
      const started = Date.now();
      const first = await post();
      assert.ok(Date.now() - started >= 19);
      const second = await post();
      for (let i = 0; i < 8; i++) await post();
      assert.equal(second.choices[0]!.message.content, 'second');
      assert.notEqual(first.choices[0]!.message.content, 'second');
      assert.equal(fake.count, 10);
      // fetch sometimes opens a second socket before the first is released: reuse, not exactly one.
      assert.ok(fake.connections <= 3, `${fake.connections} connections`);
      assert.ok(fake.requests.every((r, i) => r.index === i && r.at >= started && r.body.model === 'm'));
    } finally {
      await fake.close();
    }
  });
});
