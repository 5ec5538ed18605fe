import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { fetcherContract } from './fetcher.contract.ts';
import { FetchError } from './fetcher.ts';
import { createHttpFetcher } from './http-fetcher.ts';

fetcherContract('http', () => createHttpFetcher({ allowPrivate: true, userAgent: 'cellwise/0.1 (test)', connectTimeoutMs: 2_000, timeoutMs: 1_000, maxBytes: 1_000_000 }));

const options = { allowPrivate: true, userAgent: 'cellwise/0.1 (test)', connectTimeoutMs: 2_000, timeoutMs: 5_000, maxBytes: 1_000_000 };

describe('http fetcher: what goes over the wire', () => {
  it('asks for HTML first unless the caller names the media types it wants', async () => {
    const accepts: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      accepts.push(req.headers.accept);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const fetcher = createHttpFetcher(options);
      await fetcher.fetch(url);
      await fetcher.fetch(url, { accept: 'text/plain' });
      assert.match(accepts[0] ?? '', /^text\/html,/);
      assert.equal(accepts[1], 'text/plain');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a fetch cancelled while its host is being resolved never opens a connection', async () => {
    // A bare TCP server: it counts connections, which an HTTP-level request log would not show.
    let connections = 0;
    const server = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const controller = new AbortController();
      const fetcher = createHttpFetcher({
        ...options,
        // The caller cancels while DNS is still answering.
        resolver: async () => {
          controller.abort();
          await new Promise((resolve) => setTimeout(resolve, 20));
          return [{ address: '127.0.0.1', family: 4 }];
        },
      });
      const err = await fetcher.fetch(`http://slow-dns.test:${port}/`, { signal: controller.signal }).then(() => assert.fail('fetched'), (e: unknown) => e);
      assert.ok(err instanceof FetchError && err.code === 'FETCH_FAILED' && err.retryable, String(err));
      // Give a connection that was wrongly started the time to arrive.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(connections, 0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
