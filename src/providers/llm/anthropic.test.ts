import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeAnthropic, type FakeLlmServer } from '../../../test/fakes/anthropic-server.ts';
import { createAnthropicProvider } from './anthropic.ts';
import type { LlmProvider } from './llm.ts';

describe('anthropic adapter', () => {
  let fake: FakeLlmServer;
  let provider: LlmProvider;
  before(async () => {
    fake = await startFakeAnthropic();
    provider = createAnthropicProvider({ baseUrl: fake.baseUrl, apiKey: 'sk-ant-test' });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  it('sends the key, the API version, and system turns at the top level', async () => {
    await provider.complete({
      model: 'claude-sonnet-4-20250514',
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'system', content: 'Answer in French.' },
        { role: 'user', content: 'hi' },
      ],
      temperature: 0,
    });
    const req = fake.requests[0]!;
    assert.equal(req.path, '/v1/messages');
    assert.equal(req.headers['x-api-key'], 'sk-ant-test');
    assert.equal(req.headers['anthropic-version'], '2023-06-01');
    assert.equal(req.body.system, 'Be terse.\n\nAnswer in French.');
    assert.deepEqual(req.body.messages, [{ role: 'user', content: 'hi' }]);
    assert.equal(req.body.max_tokens, 4096);
    assert.equal(req.body.temperature, 0);
    assert.equal(req.body.tools, undefined);
  });

  it('forces a tool for structured output and reads its input', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    fake.enqueue({ kind: 'tool-call', name: 'place', arguments: { city: 'Lyon' } });
    const res = await provider.complete({ model: 'm', messages: [{ role: 'user', content: 'where?' }], maxTokens: 100, jsonSchema: { name: 'place', schema } });
    const body = fake.requests[0]!.body;
    assert.deepEqual(body.tools, [{ name: 'place', description: 'Record the answer in the required structure.', input_schema: schema }]);
    assert.deepEqual(body.tool_choice, { type: 'tool', name: 'place' });
    assert.equal(body.max_tokens, 100);
    assert.deepEqual(res.json, { city: 'Lyon' });
    assert.equal(res.finishReason, 'tool_use');
  });

  it('counts prompt-cache tokens as input', async () => {
    const cached: typeof fetch = async () =>
      Response.json({
        model: 'claude-3-5-haiku-20241022',
        content: [{ type: 'text', text: 'hi' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 5, output_tokens: 2, cache_creation_input_tokens: 10, cache_read_input_tokens: 100 },
      });
    const res = await createAnthropicProvider({ fetch: cached }).complete({ model: 'claude-3-5-haiku-latest', messages: [{ role: 'user', content: 'x' }] });
    assert.deepEqual(res.usage, { inputTokens: 115, outputTokens: 2 });
    assert.equal(res.model, 'claude-3-5-haiku-20241022');
  });

  it('joins text blocks and skips block types it does not know', async () => {
    const blocks: typeof fetch = async () =>
      Response.json({
        content: [{ type: 'thinking', thinking: '...' }, { type: 'text', text: 'Hello, ' }, { type: 'text', text: 'world' }],
        usage: { input_tokens: 1, output_tokens: 1 },
      });
    const res = await createAnthropicProvider({ fetch: blocks }).complete({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(res.text, 'Hello, world');
  });

  it('re-asks without an empty assistant turn, which Anthropic would reject', async () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
    fake.enqueue({ kind: 'text', text: '' });
    const res = await provider.complete({ model: 'm', messages: [{ role: 'user', content: 'go' }], jsonSchema: { name: 'a', schema } });
    assert.deepEqual(res.json, { a: 'x' });
    const second = fake.requests[1]!.body.messages!;
    assert.ok(second.every((m) => m.content !== ''));
    assert.deepEqual(
      second.map((m) => m.role),
      ['user', 'user'],
    );
  });
});
