import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SearchError, type SearchProvider } from './search.ts';

/**
 * What every search adapter must do, run against a fake of its engine. The harness serves
 * `results` for any query and can make the next request fail with an HTTP status.
 */
export type SearchHarness = {
  provider: SearchProvider;
  /** The queries the fake engine received. */
  queries: string[];
  failNext(status: number): void;
  close(): Promise<void>;
};

export function searchContract(name: string, start: (results: (q: string) => { url: string; title: string; content?: string }[]) => Promise<SearchHarness>) {
  describe(`search contract: ${name}`, () => {
    let h: SearchHarness;
    before(async () => {
      h = await start((q) =>
        q === 'nothing'
          ? []
          : [
              { url: 'https://a.example/1', title: `First for ${q}`, content: 'snippet one' },
              { url: 'ftp://b.example/skip', title: 'not a web page' },
              { url: 'https://a.example/1', title: 'duplicate' },
              { url: 'https://b.example/2', title: 'Second' },
              { url: 'https://c.example/3', title: 'Third' },
            ],
      );
    });
    after(() => h.close());

    it('returns http(s) results best first, without duplicates, up to the limit', async () => {
      const results = await h.provider.search('acme ceo', { limit: 2 });
      assert.deepEqual(
        results.map((r) => r.url),
        ['https://a.example/1', 'https://b.example/2'],
      );
      assert.equal(results[0]!.title, 'First for acme ceo');
      assert.equal(h.queries.at(-1), 'acme ceo');
    });
    it('answers an empty list when nothing is found', async () => {
      assert.deepEqual(await h.provider.search('nothing', { limit: 5 }), []);
    });
    it('fails with a retryable SearchError on 5xx and 429, a permanent one on other errors', async () => {
      h.failNext(503);
      await assert.rejects(h.provider.search('x', { limit: 5 }), (e: unknown) => e instanceof SearchError && e.code === 'SEARCH_FAILED' && e.retryable);
      h.failNext(403);
      await assert.rejects(h.provider.search('x', { limit: 5 }), (e: unknown) => e instanceof SearchError && !e.retryable);
    });
  });
}
