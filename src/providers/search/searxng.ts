import { z } from 'zod';
import { SearchError, type SearchProvider } from './search.ts';

const Answer = z.object({
  results: z.array(z.object({ url: z.string(), title: z.string().nullish(), content: z.string().nullish() }).loose()),
});

/**
 * SearXNG's JSON API (`GET /search?q=...&format=json`; the instance must enable the json format).
 * The base URL may be the instance root or its /search path. The search endpoint is chosen by the
 * operator, so it may be on a private address (a self-hosted instance usually is).
 */
export function createSearxngSearch({ baseUrl, timeoutMs = 15_000, fetchFn = fetch }: { baseUrl: string; timeoutMs?: number; fetchFn?: typeof fetch }): SearchProvider {
  const endpoint = new URL(baseUrl);
  if (!endpoint.pathname.endsWith('/search')) endpoint.pathname = `${endpoint.pathname.replace(/\/$/, '')}/search`;
  return {
    name: 'searxng',
    async search(query, { limit, signal }) {
      const url = new URL(endpoint);
      url.searchParams.set('q', query);
      url.searchParams.set('format', 'json');
      const timeout = AbortSignal.timeout(timeoutMs);
      let res: Response;
      try {
        res = await fetchFn(url, { headers: { accept: 'application/json' }, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      } catch (err) {
        throw new SearchError('SEARCH_FAILED', `Search request failed: ${(err as Error).message}`, true);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new SearchError('SEARCH_FAILED', `Search answered HTTP ${res.status}${res.status === 403 ? ' (is the json format enabled on the SearXNG instance?)' : ''}`, res.status === 429 || res.status >= 500);
      }
      let parsed: z.infer<typeof Answer>;
      try {
        parsed = Answer.parse(await res.json());
      } catch {
        throw new SearchError('SEARCH_FAILED', 'Search answered something that is not SearXNG JSON');
      }
      const seen = new Set<string>();
      const out = [];
      for (const r of parsed.results) {
        if (!/^https?:\/\//i.test(r.url) || seen.has(r.url)) continue;
        seen.add(r.url);
        out.push({ url: r.url, title: r.title ?? r.url, ...(r.content ? { snippet: r.content } : {}) });
        if (out.length >= limit) break;
      }
      return out;
    },
  };
}
