import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeOpenAI, type FakeLlmServer } from '../../../test/fakes/openai-server.ts';
import { assertLlmError } from './llm.contract.ts';
import type { LlmProvider } from './llm.ts';
import { createOpenAiCompatibleProvider } from './openai-compatible.ts';

describe('openai-compatible adapter', () => {
  let fake: FakeLlmServer;
  let provider: LlmProvider;
  before(async () => {
    fake = await startFakeOpenAI();
    provider = createOpenAiCompatibleProvider({ baseUrl: `${fake.baseUrl}/`, apiKey: 'sk-test' });
  });
  after(() => fake.close());
  beforeEach(() => fake.reset());

  const user = (content: string) => [{ role: 'user' as const, content }];

  it('posts to /chat/completions with a Bearer key and only the fields asked for', async () => {
    await provider.complete({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'sys' }, ...user('hi')] });
    const req = fake.requests[0]!;
    assert.equal(req.path, '/v1/chat/completions');
    assert.equal(req.headers.authorization, 'Bearer sk-test');
    assert.deepEqual(req.body, { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'hi' }] });
  });

  it('sends no Authorization header without a key (local servers)', async () => {
    const local = createOpenAiCompatibleProvider({ baseUrl: fake.baseUrl });
    await local.complete({ model: 'llama', messages: user('hi') });
    assert.equal(fake.requests[0]!.headers.authorization, undefined);
  });

  it('sends temperature, max_tokens, strict json_schema and logprobs', async () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
    await provider.complete({ model: 'm', messages: user('hi'), temperature: 0.2, maxTokens: 50, jsonSchema: { name: 'my schema', schema }, logprobs: true });
    const body = fake.requests[0]!.body;
    assert.equal(body.temperature, 0.2);
    assert.equal(body.max_tokens, 50);
    assert.deepEqual(body.response_format, { type: 'json_schema', json_schema: { name: 'my_schema', schema, strict: true } });
    assert.equal(body.logprobs, true);
    assert.equal(body.top_logprobs, 5);
  });

  it('asks for strict mode only when OpenAI would accept the schema as strict', async () => {
    const open = { type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, required: ['a'] };
    await provider.complete({ model: 'm', messages: user('hi'), jsonSchema: { name: 'open', schema: open } });
    const sent = fake.requests[0]!.body.response_format as { json_schema: { strict: boolean; schema: unknown } };
    assert.equal(sent.json_schema.strict, false);
    assert.deepEqual(sent.json_schema.schema, open);
  });

  it('uses max_completion_tokens for api.openai.com, which rejects max_tokens on newer models', async () => {
    let sent: Record<string, unknown> = {};
    const fetchSpy: typeof fetch = async (_url, init) => {
      sent = JSON.parse(String(init?.body)) as Record<string, unknown>;
      return Response.json({ model: 'gpt-5', choices: [{ message: { content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } });
    };
    const real = createOpenAiCompatibleProvider({ apiKey: 'k', fetch: fetchSpy });
    const res = await real.complete({ model: 'gpt-5', messages: user('hi'), maxTokens: 9 });
    assert.equal(sent.max_completion_tokens, 9);
    assert.equal(sent.max_tokens, undefined);
    assert.equal(res.text, 'ok');
  });

  it('parses log-probabilities with their top alternatives', async () => {
    fake.enqueue({
      kind: 'text',
      text: 'Yes',
      logprobs: [{ token: 'Yes', logprob: -0.1, top: [{ token: 'Yes', logprob: -0.1 }, { token: 'No', logprob: -2.4 }] }],
    });
    const res = await provider.complete({ model: 'm', messages: user('Is it?'), logprobs: true });
    assert.deepEqual(res.logprobs, [{ token: 'Yes', logprob: -0.1, top: [{ token: 'Yes', logprob: -0.1 }, { token: 'No', logprob: -2.4 }] }]);
  });

  it('gives default log-probabilities one entry per token, with 5 alternatives', async () => {
    const res = await provider.complete({ model: 'm', messages: user('hello'), logprobs: true });
    assert.ok(res.logprobs && res.logprobs.length > 0);
    assert.equal(res.logprobs[0]!.top?.length, 5);
    assert.equal(res.logprobs.map((t) => t.token).join(''), res.text);
  });

  it('leaves logprobs out when not asked for', async () => {
    const res = await provider.complete({ model: 'm', messages: user('hello') });
    assert.equal(res.logprobs, undefined);
  });

  it('reads a structured answer given as a tool call', async () => {
    fake.enqueue({ kind: 'tool-call', name: 'out', arguments: { city: 'Lyon' } });
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const res = await provider.complete({ model: 'm', messages: user('where?'), jsonSchema: { name: 'out', schema } });
    assert.deepEqual(res.json, { city: 'Lyon' });
    assert.equal(res.finishReason, 'tool_calls');
  });

  it('reads a plain tool-call answer as text when no schema was asked for', async () => {
    fake.enqueue({ kind: 'tool-call', name: 'lookup', arguments: '{"q":"x"}' });
    const res = await provider.complete({ model: 'm', messages: user('hi') });
    assert.equal(res.text, '{"q":"x"}');
  });

  it('unwraps a non-object root schema that OpenAI needed wrapped', async () => {
    const schema = { type: 'string', enum: ['yes', 'no'] };
    const res = await provider.complete({ model: 'm', messages: user('ok?'), jsonSchema: { name: 'answer', schema } });
    const sent = fake.requests[0]!.body.response_format as { json_schema: { schema: { type: string; properties: Record<string, unknown> } } };
    assert.equal(sent.json_schema.schema.type, 'object');
    assert.deepEqual(sent.json_schema.schema.properties.value, schema);
    assert.equal(res.json, 'yes');
    assert.equal(res.text, '"yes"');
  });

  it('treats a 200 that is not a chat completion as a retryable LLM_SERVER_ERROR', async () => {
    const html: typeof fetch = async () => Response.json({ hello: 'world' });
    const wrong = createOpenAiCompatibleProvider({ baseUrl: 'http://127.0.0.1:1/v1', fetch: html });
    await assertLlmError(wrong.complete({ model: 'm', messages: user('hi') }), 'LLM_SERVER_ERROR', true);
  });

  it('answers with usage 0 when a server omits usage', async () => {
    const noUsage: typeof fetch = async () => Response.json({ choices: [{ message: { content: 'x' } }] });
    const res = await createOpenAiCompatibleProvider({ fetch: noUsage }).complete({ model: 'm', messages: user('hi') });
    assert.deepEqual(res.usage, { inputTokens: 0, outputTokens: 0 });
    assert.equal(res.model, 'm');
  });
});
