/**
 * The web search port: a query in, ranked result URLs out. One adapter per engine (SearXNG's JSON
 * API today; commercial APIs fit the same two members). Every adapter passes search.contract.ts.
 */
export type SearchResult = { url: string; title: string; snippet?: string };

export interface SearchProvider {
  /** A short name for metadata (`searxng`). */
  readonly name: string;
  /** At most `limit` results, best first; rejects with SearchError. An empty list is a valid answer. */
  search(query: string, options: { limit: number; signal?: AbortSignal }): Promise<SearchResult[]>;
}

export class SearchError extends Error {
  constructor(
    readonly code: 'SEARCH_FAILED' | 'SEARCH_NOT_CONFIGURED',
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}
