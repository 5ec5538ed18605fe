import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeSearchResult = { url: string; title?: string; content?: string };

/**
 * A SearXNG-compatible search endpoint: `GET /search?q=...&format=json` answers
 * `{query, results: [{url, title, content}]}` from `results(q)`; `fail(status)` makes the next
 * request answer that status. Records every query.
 */
export async function startFakeSearch(results: (q: string) => FakeSearchResult[]) {
  const queries: string[] = [];
  const failures: number[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://search');
    if (url.pathname !== '/search') {
      res.writeHead(404);
      return res.end();
    }
    const q = url.searchParams.get('q') ?? '';
    queries.push(q);
    const status = failures.shift();
    if (status) {
      res.writeHead(status, { 'content-type': 'text/plain' });
      return res.end('fail');
    }
    if (url.searchParams.get('format') !== 'json') {
      res.writeHead(403, { 'content-type': 'text/plain' });
      return res.end('format not enabled');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ query: q, number_of_results: 0, results: results(q).map((r) => ({ title: r.url, content: '', engine: 'fake', ...r })) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    queries,
    fail: (status: number) => failures.push(status),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
