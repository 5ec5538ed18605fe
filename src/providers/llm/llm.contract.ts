import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { FakeLlmServer, FakeServerOptions } from '../../../test/fakes/fake-llm-server.ts';
import { LlmError, type LlmProvider, type LlmRequest } from './llm.ts';

/**
 * The behaviour every LLM adapter owes the engine, run against the adapter and a fake server that
 * speaks its real protocol. Assertions are on codes, flags and values, never on message text.
 */
export type LlmContractTarget = {
  /** Label of the suite. */
  name: string;
  /** Starts the protocol's fake server. */
  startFake(options?: FakeServerOptions): Promise<FakeLlmServer>;
  /** The adapter under test, pointed at `baseUrl`. */
  createProvider(baseUrl: string, options?: { timeoutMs?: number }): LlmProvider;
  /** A model name to send (the part after `provider:`). */
  model: string;
};

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    age: { type: 'integer', minimum: 18 },
    score: { type: 'number' },
    active: { type: 'boolean' },
    tier: { type: 'string', enum: ['gold', 'silver'] },
    tags: { type: 'array', items: { type: 'string' } },
    address: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  },
  required: ['name', 'age', 'score', 'active', 'tier', 'tags', 'address'],
  additionalProperties: false,
};
const PERSON_EXAMPLE = { name: 'x', age: 18, score: 1, active: true, tier: 'gold', tags: ['x'], address: { city: 'x' } };

export function llmProviderContract(target: LlmContractTarget): void {
  describe(`LLM provider contract: ${target.name}`, () => {
    let fake: FakeLlmServer;
    let provider: LlmProvider;
    const ask = (text: string, extra: Partial<LlmRequest> = {}): LlmRequest => ({
      model: target.model,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: text },
      ],
      ...extra,
    });
    const person = (extra: Partial<LlmRequest> = {}) => ask('Describe someone', { jsonSchema: { name: 'person', schema: PERSON }, ...extra });

    before(async () => {
      fake = await target.startFake();
      provider = target.createProvider(fake.baseUrl);
    });
    after(() => fake.close());
    beforeEach(() => fake.reset());

    it('answers plain text, the same for the same question', async () => {
      const a = await provider.complete(ask('What is 2+2?'));
      const b = await provider.complete(ask('What is 2+2?'));
      assert.ok(a.text.length > 0);
      assert.equal(a.text, b.text);
      assert.equal(a.json, undefined);
      assert.equal(a.model, target.model);
      assert.equal(fake.count, 2);
      assert.equal(fake.requests[0]!.body.model, target.model);
    });

    it('reports the token usage the server counted', async () => {
      fake.enqueue({ kind: 'text', text: 'four', usage: { input: 12, output: 3 } });
      const res = await provider.complete(ask('What is 2+2?'));
      assert.deepEqual(res.usage, { inputTokens: 12, outputTokens: 3 });
    });

    it('returns JSON parsed and validated against the schema', async () => {
      const res = await provider.complete(person());
      assert.deepEqual(res.json, PERSON_EXAMPLE);
      assert.deepEqual(JSON.parse(res.text), PERSON_EXAMPLE);
      assert.equal(fake.count, 1);
    });

    it('accepts a schema whose root is not an object', async () => {
      const schema = { type: 'array', items: { type: 'string', enum: ['red', 'green'] } };
      const res = await provider.complete(ask('Colours?', { jsonSchema: { name: 'colours', schema } }));
      assert.deepEqual(res.json, ['red']);
    });

    it('reads JSON wrapped in a ```json fence', async () => {
      fake.enqueue({ kind: 'text', text: `Here you go:\n\`\`\`json\n${JSON.stringify(PERSON_EXAMPLE)}\n\`\`\`` });
      const res = await provider.complete(person());
      assert.deepEqual(res.json, PERSON_EXAMPLE);
      assert.equal(fake.count, 1);
    });

    it('re-asks once on invalid output, appending the problem, and sums the usage', async () => {
      fake.enqueue({ kind: 'json', value: { name: 'x' }, usage: { input: 10, output: 5 } }, { kind: 'json', value: PERSON_EXAMPLE, usage: { input: 20, output: 7 } });
      const res = await provider.complete(person());
      assert.deepEqual(res.json, PERSON_EXAMPLE);
      assert.deepEqual(res.usage, { inputTokens: 30, outputTokens: 12 });
      assert.equal(fake.count, 2);
      const [first, second] = fake.requests.map((r) => r.body.messages ?? []);
      assert.ok(second!.length > first!.length);
      assert.equal(second!.at(-1)!.role, 'user');
    });

    it('fails with LLM_INVALID_OUTPUT (not retryable) when the re-ask is invalid too', async () => {
      fake.enqueue({ kind: 'text', text: 'I cannot answer in JSON.' }, { kind: 'json', value: { name: 3 } });
      await assertLlmError(provider.complete(person()), 'LLM_INVALID_OUTPUT', false);
      assert.equal(fake.count, 2);
    });

    it('refuses a schema that does not compile, without calling the server', async () => {
      const req = ask('x', { jsonSchema: { name: 'bad', schema: { type: 'no-such-type' } } });
      await assertLlmError(provider.complete(req), 'LLM_BAD_REQUEST', false);
      assert.equal(fake.count, 0);
    });

    it('maps 429 to LLM_RATE_LIMITED with Retry-After in seconds', async () => {
      fake.enqueue({ kind: 'error', status: 429, retryAfter: 2 });
      const err = await assertLlmError(provider.complete(ask('x')), 'LLM_RATE_LIMITED', true);
      assert.equal(err.retryAfterMs, 2000);
      assert.equal(err.status, 429);
    });

    it('maps 429 with Retry-After as an HTTP date', async () => {
      fake.enqueue({ kind: 'error', status: 429, retryAfter: new Date(Date.now() + 5000).toUTCString() });
      const err = await assertLlmError(provider.complete(ask('x')), 'LLM_RATE_LIMITED', true);
      // HTTP dates have whole seconds: the wait is 4-5 s.
      assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 3000 && err.retryAfterMs <= 5000, String(err.retryAfterMs));
    });

    for (const status of [500, 502, 503, 529]) {
      it(`maps ${status} to a retryable LLM_SERVER_ERROR`, async () => {
        fake.enqueue({ kind: 'error', status });
        const err = await assertLlmError(provider.complete(ask('x')), 'LLM_SERVER_ERROR', true);
        assert.equal(err.status, status);
      });
    }

    it('maps 408 to a retryable LLM_TIMEOUT', async () => {
      fake.enqueue({ kind: 'error', status: 408 });
      await assertLlmError(provider.complete(ask('x')), 'LLM_TIMEOUT', true);
    });

    for (const status of [401, 403]) {
      it(`maps ${status} to LLM_AUTH, not retryable`, async () => {
        fake.enqueue({ kind: 'error', status });
        await assertLlmError(provider.complete(ask('x')), 'LLM_AUTH', false);
      });
    }

    it('maps 404 to LLM_MODEL_NOT_FOUND, not retryable', async () => {
      fake.enqueue({ kind: 'error', status: 404 });
      await assertLlmError(provider.complete(ask('x')), 'LLM_MODEL_NOT_FOUND', false);
    });

    it('maps other 4xx to LLM_BAD_REQUEST, not retryable', async () => {
      fake.enqueue({ kind: 'error', status: 400 }, { kind: 'error', status: 422 });
      await assertLlmError(provider.complete(ask('x')), 'LLM_BAD_REQUEST', false);
      await assertLlmError(provider.complete(ask('x')), 'LLM_BAD_REQUEST', false);
    });

    it('treats a 200 whose body is not JSON as a retryable LLM_SERVER_ERROR', async () => {
      fake.enqueue({ kind: 'malformed' });
      await assertLlmError(provider.complete(ask('x')), 'LLM_SERVER_ERROR', true);
    });

    it('maps a reset connection to a retryable LLM_UNREACHABLE', async () => {
      fake.enqueue({ kind: 'reset' });
      await assertLlmError(provider.complete(ask('x')), 'LLM_UNREACHABLE', true);
    });

    it('maps a refused connection to a retryable LLM_UNREACHABLE', async () => {
      const port = await closedPort();
      const offline = target.createProvider(fake.baseUrl.replace(/:\d+/, `:${port}`));
      await assertLlmError(offline.complete(ask('x')), 'LLM_UNREACHABLE', true);
    });

    it('gives up after its timeout with a retryable LLM_TIMEOUT', async () => {
      fake.enqueue({ kind: 'hang' });
      const impatient = target.createProvider(fake.baseUrl, { timeoutMs: 100 });
      await assertLlmError(impatient.complete(ask('x')), 'LLM_TIMEOUT', true);
    });

    it('stops when the caller aborts, with LLM_ABORTED (not retryable)', async () => {
      fake.enqueue({ kind: 'hang' });
      const controller = new AbortController();
      const pending = provider.complete(ask('x', { signal: controller.signal }));
      await waitFor(() => fake.count === 1);
      controller.abort();
      await assertLlmError(pending, 'LLM_ABORTED', false);
      await assertLlmError(provider.complete(ask('x', { signal: AbortSignal.abort() })), 'LLM_ABORTED', false);
      assert.equal(fake.count, 1);
    });

    it('serves many concurrent requests', async () => {
      const answers = await Promise.all(Array.from({ length: 64 }, (_, i) => provider.complete(ask(`question ${i % 8}`))));
      assert.equal(new Set(answers.map((a) => a.text)).size, 8);
      assert.equal(fake.count, 64);
    });
  });
}

/** Asserts the promise rejects with an LlmError of this code and retryability; returns the error. */
export async function assertLlmError(promise: Promise<unknown>, code: string, retryable: boolean): Promise<LlmError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}, got an answer`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LlmError, `expected LlmError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err.retryable, retryable);
  return err;
}

/** A port nothing listens on: bound, read, released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls a condition on the event loop (outcome-based waiting; fails after 5 s). */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
