import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withReviewerFeedback, type LlmClient } from './executor.ts';

/** The one place every task type's requests get a reviewer's feedback (issue 19). */
describe('withReviewerFeedback', () => {
  const seen: Parameters<LlmClient['complete']>[1][] = [];
  const inner: LlmClient = {
    async complete(modelId, req) {
      seen.push(req);
      return { text: '', usage: { inputTokens: 0, outputTokens: 0 }, model: modelId, cached: false, costUsd: 0, modelId };
    },
  };

  it('adds the rejected answer and the note to the last user turn of every request, leaving the rest as it was', async () => {
    seen.length = 0;
    const llm = withReviewerFeedback(inner, { value: { city: 'Lyon' }, note: 'It is in Peru' }, 'Country');
    const messages = [
      { role: 'system' as const, content: 'sys' },
      { role: 'user' as const, content: 'first' },
      { role: 'assistant' as const, content: 'a' },
      { role: 'user' as const, content: 'question' },
    ];
    await llm.complete('openai:m', { messages, temperature: 0 });
    await llm.complete('openai:m', { messages: [{ role: 'user', content: 'chunk 2' }] });
    assert.equal(seen[0]!.messages.length, 4);
    assert.deepEqual(seen[0]!.messages.slice(0, 3), messages.slice(0, 3));
    assert.equal(seen[0]!.temperature, 0);
    assert.equal(
      seen[0]!.messages[3]!.content,
      'question\n\nReviewer feedback: a person checked the previous answer for "Country" in this row and rejected it.\nRejected answer: {"city":"Lyon"}\nReviewer\'s note: It is in Peru\nTake this feedback into account in your new answer.',
    );
    assert.match(seen[1]!.messages[0]!.content, /^chunk 2\n\nReviewer feedback/, 'every call of the cell (a document\'s chunks) carries it');
    assert.equal(messages[3]!.content, 'question', "the executor's messages are not changed in place");
  });

  it('without a note still says the answer was rejected; a request without a user turn gets one', async () => {
    seen.length = 0;
    await withReviewerFeedback(inner, { value: 'x', note: null }, 'C').complete('openai:m', { messages: [{ role: 'system', content: 'only' }] });
    assert.equal(seen[0]!.messages.length, 2);
    assert.equal(seen[0]!.messages[1]!.role, 'user');
    assert.doesNotMatch(seen[0]!.messages[1]!.content, /note/);
    assert.match(seen[0]!.messages[1]!.content, /Rejected answer: x\n/);
  });
});
