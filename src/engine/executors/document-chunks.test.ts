import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkPages, keywords, locateQuote, pageRanges, selectChunks, squash } from './document-chunks.ts';

describe('document chunks', () => {
  it('groups whole pages up to the budget, splits a page longer than it, and skips empty pages', () => {
    const chunks = chunkPages([{ page: 1, text: 'a'.repeat(40) }, { page: 2, text: '   ' }, { page: 3, text: 'b'.repeat(50) }, { page: 4, text: 'c'.repeat(130) }], 100);
    assert.deepEqual(chunks.map((c) => c.parts.map((p) => [p.page, p.text.length])), [[[1, 40], [3, 50]], [[4, 100]], [[4, 30]]]);
    assert.ok(chunks.every((c) => c.chars <= 100));
  });

  it('keeps the first chunk and the most relevant others, in document order', () => {
    const chunks = chunkPages(['intro page here', 'weather report', 'the invoice total', 'more weather', 'total, total'].map((text, i) => ({ page: i + 1, text })), 18);
    assert.equal(chunks.length, 5);
    const chosen = selectChunks(chunks, keywords(['Total', 'The invoice total']), 3);
    assert.deepEqual(chosen.map((c) => c.parts[0]!.page), [1, 3, 5]);
    assert.equal(selectChunks(chunks, [], 10).length, 5);
  });

  it('verifies quotes whitespace-insensitively on the cited page, else on the one page holding them', () => {
    const pages = new Map([[1, squash('Invoice number\n 1001')], [2, squash('Total due: 5 EUR')], [3, squash('Total due: 5 EUR')]]);
    assert.equal(locateQuote('Invoice  number 1001', 1, pages), 1);
    assert.equal(locateQuote('Invoice number 1001', 2, pages), 1);
    assert.equal(locateQuote('Total due: 5 EUR', 1, pages), undefined, 'on two other pages: ambiguous');
    assert.equal(locateQuote('Invoice number 1001', 99, pages), 1, 'a cited page the document does not have');
    assert.equal(locateQuote('Total due: 5 EUR', 3, pages), 3);
    assert.equal(locateQuote('Invoice number 1002', 1, pages), undefined);
    assert.equal(locateQuote('   ', 1, pages), undefined);
  });

  it('writes page lists as ranges', () => {
    assert.equal(pageRanges([9, 1, 2, 3, 7, 10, 2]), '1-3, 7, 9-10');
    assert.equal(pageRanges([]), '');
  });
});
