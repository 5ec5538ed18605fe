import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeAnthropic } from '../../../test/fakes/anthropic-server.ts';
import { startFakeOllama } from '../../../test/fakes/ollama-server.ts';
import { startFakeOpenAI } from '../../../test/fakes/openai-server.ts';
import type { FakeLlmServer } from '../../../test/fakes/fake-llm-server.ts';
import { LlmError } from './llm.ts';
import { createLlmRegistry, parseModelId } from './registry.ts';

describe('LLM registry', () => {
  let openai: FakeLlmServer;
  let anthropic: FakeLlmServer;
  let ollama: FakeLlmServer;
  before(async () => {
    [openai, anthropic, ollama] = await Promise.all([startFakeOpenAI(), startFakeAnthropic(), startFakeOllama()]);
  });
  after(() => Promise.all([openai.close(), anthropic.close(), ollama.close()]));

  const registry = () =>
    createLlmRegistry({
      openaiBaseUrl: openai.baseUrl,
      openaiApiKey: 'sk-o',
      anthropicBaseUrl: anthropic.baseUrl,
      anthropicApiKey: 'sk-a',
      ollamaBaseUrl: ollama.baseUrl,
    });

  it('routes each provider:model id to its configured server', async () => {
    const r = registry();
    for (const [id, fake] of [
      ['openai:gpt-4o-mini', openai],
      ['anthropic:claude-3-5-haiku-latest', anthropic],
      ['ollama:llama3.1:8b', ollama],
    ] as const) {
      const { provider, model } = r.resolve(id);
      await provider.complete({ model, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(fake.requests.at(-1)!.body.model, id.slice(id.indexOf(':') + 1));
    }
    assert.equal(openai.requests.at(-1)!.headers.authorization, 'Bearer sk-o');
    assert.equal(anthropic.requests.at(-1)!.headers['x-api-key'], 'sk-a');
  });

  it('splits at the first colon only, so Ollama tags survive', () => {
    const resolved = registry().resolve('ollama:qwen2.5:7b-instruct');
    assert.equal(resolved.providerName, 'ollama');
    assert.equal(resolved.model, 'qwen2.5:7b-instruct');
    assert.equal(resolved.provider.name, 'ollama');
    assert.deepEqual(parseModelId('OpenAI:openai/gpt-4o'), { providerName: 'openai', model: 'openai/gpt-4o' });
  });

  it('rejects unknown providers and malformed ids with LLM_BAD_REQUEST, not retryable', () => {
    for (const id of ['mistral:large', 'gpt-4o-mini', 'openai:', ':gpt-4o', '']) {
      assert.throws(
        () => registry().resolve(id),
        (err: unknown) => err instanceof LlmError && err.code === 'LLM_BAD_REQUEST' && !err.retryable,
        id,
      );
    }
  });

  it('applies the configured timeout to every provider', async () => {
    const r = createLlmRegistry({ openaiBaseUrl: openai.baseUrl, timeoutMs: 50 });
    openai.enqueue({ kind: 'hang' });
    const { provider, model } = r.resolve('openai:m');
    await assert.rejects(provider.complete({ model, messages: [{ role: 'user', content: 'x' }] }), (err: unknown) => err instanceof LlmError && err.code === 'LLM_TIMEOUT');
  });

  it('uses the injected fetch', async () => {
    const seen: string[] = [];
    const spy: typeof fetch = async (url) => {
      seen.push(String(url));
      return Response.json({ choices: [{ message: { content: 'x' } }] });
    };
    const { provider, model } = createLlmRegistry({}, spy).resolve('openai:gpt-4o-mini');
    await provider.complete({ model, messages: [{ role: 'user', content: 'x' }] });
    assert.deepEqual(seen, ['https://api.openai.com/v1/chat/completions']);
  });
});
