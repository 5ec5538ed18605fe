import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startFakeAnthropic } from '../../../test/fakes/anthropic-server.ts';
import { startFakeOllama } from '../../../test/fakes/ollama-server.ts';
import { startFakeOpenAI } from '../../../test/fakes/openai-server.ts';
import { createAnthropicProvider } from './anthropic.ts';
import { parseRetryAfter } from './http.ts';
import { compileSchema, isStrictCompatible, objectRoot, parseJsonText, schemaName } from './json-schema.ts';
import { llmProviderContract } from './llm.contract.ts';
import { createOllamaProvider } from './ollama.ts';
import { createOpenAiCompatibleProvider } from './openai-compatible.ts';

llmProviderContract({
  name: 'openai-compatible',
  startFake: startFakeOpenAI,
  createProvider: (baseUrl, options) => createOpenAiCompatibleProvider({ baseUrl, apiKey: 'sk-test', ...options }),
  model: 'gpt-4o-mini',
});

llmProviderContract({
  name: 'anthropic',
  startFake: startFakeAnthropic,
  createProvider: (baseUrl, options) => createAnthropicProvider({ baseUrl, apiKey: 'sk-ant-test', ...options }),
  model: 'claude-3-5-haiku-latest',
});

llmProviderContract({
  name: 'ollama',
  startFake: startFakeOllama,
  createProvider: (baseUrl, options) => createOllamaProvider({ baseUrl, ...options }),
  model: 'llama3.1:8b',
});

describe('parseRetryAfter', () => {
  const headers = (init: Record<string, string>) => new Headers(init);
  it('reads delta-seconds, fractional ones too', () => {
    assert.equal(parseRetryAfter(headers({ 'retry-after': '7' })), 7000);
    assert.equal(parseRetryAfter(headers({ 'retry-after': '0.5' })), 500);
  });
  it('reads an HTTP date relative to now, never negative', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter(headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now), 30_000);
    assert.equal(parseRetryAfter(headers({ 'retry-after': 'Tue, 31 Dec 2024 23:59:00 GMT' }), now), 0);
  });
  it('prefers retry-after-ms and ignores garbage', () => {
    assert.equal(parseRetryAfter(headers({ 'retry-after-ms': '250', 'retry-after': '1' })), 250);
    assert.equal(parseRetryAfter(headers({ 'retry-after': 'soon' })), undefined);
    assert.equal(parseRetryAfter(headers({})), undefined);
  });
});

describe('parseJsonText', () => {
  it('parses plain JSON, fenced JSON and JSON after a preamble', () => {
    assert.deepEqual(parseJsonText('{"a":1}'), { ok: true, value: { a: 1 } });
    assert.deepEqual(parseJsonText('```json\n{"a":1}\n```'), { ok: true, value: { a: 1 } });
    assert.deepEqual(parseJsonText('```\n[1,2]\n```'), { ok: true, value: [1, 2] });
    assert.deepEqual(parseJsonText('Sure! {"a": {"b": true}} Hope this helps.'), { ok: true, value: { a: { b: true } } });
    assert.deepEqual(parseJsonText('"just a string"'), { ok: true, value: 'just a string' });
  });
  it('reports text that holds no JSON', () => {
    assert.equal(parseJsonText('no json here').ok, false);
    assert.equal(parseJsonText('').ok, false);
    assert.equal(parseJsonText('{broken').ok, false);
  });
});

describe('JSON Schema helpers', () => {
  it('wraps non-object roots, keeping $defs at the root', () => {
    assert.deepEqual(objectRoot({ type: 'object', properties: {} }).wrapped, false);
    const { schema, wrapped } = objectRoot({ type: 'array', items: { $ref: '#/$defs/tag' }, $defs: { tag: { type: 'string' } } });
    assert.equal(wrapped, true);
    assert.equal(schema.type, 'object');
    assert.deepEqual(schema.$defs, { tag: { type: 'string' } });
    assert.ok(compileSchema(schema)({ value: ['a'] }));
    assert.ok(!compileSchema(schema)({ value: [1] }));
  });
  it('compiles 2020-12 schemas and tolerates unknown formats and keywords', () => {
    const validate = compileSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://example.com/contact',
      type: 'object',
      properties: { email: { type: 'string', format: 'email' }, n: { type: 'integer', 'x-vendor-hint': 1 } },
      required: ['email'],
    });
    assert.ok(validate({ email: 'not checked as a format', n: 2 }));
    assert.ok(!validate({ n: 2 }));
  });
  it('reuses one compiled validator per distinct schema', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    assert.equal(compileSchema(schema), compileSchema(structuredClone(schema)));
  });
  it('tells which schemas OpenAI strict mode accepts', () => {
    const closed = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false });
    assert.ok(isStrictCompatible(closed({ a: { type: 'string' }, b: { type: 'array', items: closed({ c: { type: 'integer' } }) } })));
    assert.ok(isStrictCompatible(closed({ a: { anyOf: [{ type: 'string' }, { type: 'null' }] } })));
    assert.ok(!isStrictCompatible({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }));
    assert.ok(!isStrictCompatible(closed({ a: { type: 'string' }, b: { type: 'object', properties: { c: { type: 'string' } } } })));
    assert.ok(!isStrictCompatible({ ...closed({ a: { type: 'string' } }), required: [] }));
    assert.ok(!isStrictCompatible(closed({ a: { allOf: [{ type: 'string' }] } })));
    assert.ok(isStrictCompatible(objectRoot({ type: 'array', items: { type: 'string', enum: ['a'] } }).schema));
  });
  it('sanitises schema names for vendors', () => {
    assert.equal(schemaName('Company Facts!'), 'Company_Facts_');
    assert.equal(schemaName(''), 'output');
    assert.equal(schemaName('x'.repeat(100)).length, 64);
  });
});
