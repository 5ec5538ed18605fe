import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costUsd, DEFAULT_PRICES, parsePriceOverrides, priceOf } from './pricing.ts';

const million = { inputTokens: 1_000_000, outputTokens: 1_000_000 };

describe('pricing', () => {
  it('prices a call from the default table', () => {
    assert.deepEqual(costUsd('openai:gpt-4o-mini', { inputTokens: 1000, outputTokens: 500 }), { costUsd: 0.00045, priced: true });
    assert.deepEqual(costUsd('anthropic:claude-sonnet-4', million), { costUsd: 18, priced: true });
  });

  it('prices dated snapshots and -latest aliases like their model', () => {
    assert.deepEqual(priceOf('openai:gpt-4o-mini-2024-07-18'), DEFAULT_PRICES['openai:gpt-4o-mini']);
    assert.deepEqual(priceOf('anthropic:claude-sonnet-4-20250514'), DEFAULT_PRICES['anthropic:claude-sonnet-4']);
    assert.deepEqual(priceOf('anthropic:claude-3-5-haiku-latest'), DEFAULT_PRICES['anthropic:claude-3-5-haiku']);
  });

  it('does not price a variant as its base model', () => {
    assert.equal(priceOf('openai:gpt-4o-audio-preview'), undefined);
  });

  it('makes local models free', () => {
    assert.deepEqual(costUsd('ollama:llama3.1:8b', million), { costUsd: 0, priced: true });
  });

  it('costs 0 and says so for an unknown model', () => {
    assert.deepEqual(costUsd('openai:my-vllm-model', million), { costUsd: 0, priced: false });
  });

  it('lets the operator override and add prices, per model or per provider', () => {
    const overrides = parsePriceOverrides('{"openai:gpt-4o-mini": {"input": 1, "output": 2}, "openai:*": {"input": 0, "output": 0}, "anthropic:custom": {"input": 3, "output": 4}}');
    assert.deepEqual(costUsd('openai:gpt-4o-mini', million, overrides), { costUsd: 3, priced: true });
    assert.deepEqual(costUsd('openai:my-vllm-model', million, overrides), { costUsd: 0, priced: true });
    assert.deepEqual(costUsd('anthropic:custom', million, overrides), { costUsd: 7, priced: true });
    assert.deepEqual(costUsd('anthropic:claude-sonnet-4', million, overrides), { costUsd: 18, priced: true });
  });

  it('rejects malformed overrides', () => {
    assert.throws(() => parsePriceOverrides('not json'));
    assert.throws(() => parsePriceOverrides('{"gpt-4o": {"input": 1, "output": 1}}'));
    assert.throws(() => parsePriceOverrides('{"openai:x": {"input": -1, "output": 1}}'));
    assert.throws(() => parsePriceOverrides('[]'));
  });

  it('keeps float noise out of small costs', () => {
    const { costUsd: usd } = costUsd('openai:gpt-4o-mini', { inputTokens: 3, outputTokens: 7 });
    assert.equal(usd, 0.00000465);
  });
});
