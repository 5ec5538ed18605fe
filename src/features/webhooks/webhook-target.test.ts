import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { checkWebhookTarget, postToTarget } from './webhook-target.ts';

describe('webhook target', () => {
  it('a delivery connects to the checked addresses, never re-resolving the name (no DNS-rebinding gap)', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.headers.host} ${req.headers['x-test']} ${req.headers['transfer-encoding'] ?? ''}`);
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      // `.invalid` never resolves (RFC 6761): the request can only arrive through the pinned address.
      const status = await postToTarget(`http://hook.invalid:${port}/x`, [{ address: '127.0.0.1', family: 4 }], { 'x-test': 'pinned', Host: 'other.example', 'Transfer-Encoding': 'chunked' }, '{}', 5_000);
      assert.equal(status, 204);
      assert.deepEqual(seen, [`hook.invalid:${port} pinned `], 'framing headers of the webhook config are not sent');
    } finally {
      server.close();
    }
  });
  it('refuses private targets with the reason, and returns the checked addresses of public ones', async () => {
    for (const url of ['https://127.0.0.1/x', 'https://[::ffff:10.0.0.1]/x', 'https://localhost/x', 'https://2130706433/x']) {
      await assert.rejects(checkWebhookTarget(url, false), (e: unknown) => e instanceof Error && /not a public address|loopback/.test(e.message), url);
    }
    assert.deepEqual(await checkWebhookTarget('https://93.184.216.34/x', false), [{ address: '93.184.216.34', family: 4 }]);
    assert.equal(await checkWebhookTarget('http://127.0.0.1/x', true), undefined);
  });
});
