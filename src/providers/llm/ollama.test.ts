import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeOllama, type FakeLlmServer } from '../../../test/fakes/ollama-server.ts';
import type { LlmProvider } from './llm.ts';
import { createOllamaProvider } from './ollama.ts';

describe('ollama adapter', () => {
  let fake: FakeLlmServer;
  let provider: LlmProvider;
  before(async () => {
    fake = await startFakeOllama();
    provider = createOllamaProvider({ baseUrl: fake.baseUrl });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  it('posts a non-streaming /api/chat with options and no key', async () => {
    await provider.complete({ model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }], temperature: 0.3, maxTokens: 20 });
    const req = fake.requests[0]!;
    assert.equal(req.path, '/api/chat');
    assert.equal(req.headers.authorization, undefined);
    assert.deepEqual(req.body, { model: 'llama3.1:8b', messages: [{ role: 'user', content: 'hi' }], stream: false, options: { temperature: 0.3, num_predict: 20 } });
  });

  it('passes the JSON Schema as `format`, unwrapped', async () => {
    const schema = { type: 'array', items: { type: 'integer' } };
    const res = await provider.complete({ model: 'm', messages: [{ role: 'user', content: 'numbers' }], jsonSchema: { name: 'n', schema } });
    assert.deepEqual(fake.requests[0]!.body.format, schema);
    assert.deepEqual(res.json, [1]);
  });

  it('reads usage from prompt_eval_count and eval_count', async () => {
    fake.enqueue({ kind: 'text', text: 'ok', usage: { input: 33, output: 4 } });
    const res = await provider.complete({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    assert.deepEqual(res.usage, { inputTokens: 33, outputTokens: 4 });
    assert.equal(res.finishReason, 'stop');
  });

  it('asks for and parses log-probabilities where Ollama gives them', async () => {
    fake.enqueue({ kind: 'text', text: 'No', logprobs: [{ token: 'No', logprob: -0.2, top: [{ token: 'No', logprob: -0.2 }, { token: 'Yes', logprob: -1.8 }] }] });
    const res = await provider.complete({ model: 'm', messages: [{ role: 'user', content: 'x' }], logprobs: true });
    assert.equal(fake.requests[0]!.body.logprobs, true);
    assert.deepEqual(res.logprobs, [{ token: 'No', logprob: -0.2, top: [{ token: 'No', logprob: -0.2 }, { token: 'Yes', logprob: -1.8 }] }]);
  });

  it('treats a missing prompt_eval_count (prompt served from cache) as 0 input tokens', async () => {
    const cached: typeof fetch = async () => Response.json({ model: 'm', message: { role: 'assistant', content: 'x' }, done: true, eval_count: 2 });
    const res = await createOllamaProvider({ fetch: cached }).complete({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    assert.deepEqual(res.usage, { inputTokens: 0, outputTokens: 2 });
  });
});
