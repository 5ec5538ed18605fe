import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestFingerprint } from './fingerprint.ts';

const columns = [
  { id: 'col_1', name: 'Name' },
  { id: 'col_2', name: 'Out' },
];
const column = { taskType: 'ai_enrich', metadata: { prompt: 'Describe {{Name}} "q"', model: 'openai:x', confidence: 0.5, outputSchema: { type: 'object' } } };

describe('requestFingerprint', () => {
  it('keeps the value cells recorded before it was computed once per column (no cell goes stale by an upgrade)', () => {
    // Computed by the per-cell implementation it replaced: sha256 of JSON.stringify([taskType, settings, inputs]).
    assert.equal(requestFingerprint(column, ['Kettle', null, { a: 1 }], columns), 'f069d746909892c7e3a104ecb4de653f');
    assert.equal(requestFingerprint(column, ['Kettle', null, { a: 1 }], columns), 'f069d746909892c7e3a104ecb4de653f', 'the second call, from the memo');
  });

  it('follows the inputs, a new metadata object and the columns the references resolve against', () => {
    const a = requestFingerprint(column, ['Kettle'], columns);
    assert.notEqual(requestFingerprint(column, ['Drill'], columns), a);
    const changed = { ...column, metadata: { ...column.metadata, prompt: 'Name {{Name}}' } };
    assert.notEqual(requestFingerprint(changed, ['Kettle'], columns), a);
    // The same column record against other columns: {{Name}} now means col_9.
    assert.notEqual(requestFingerprint(column, ['Kettle'], [{ id: 'col_9', name: 'Name' }]), a);
    assert.equal(requestFingerprint(column, ['Kettle'], columns), a);
  });
});
