import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeWebsite, type FakeWebsite } from '../../../test/fakes/website.ts';
import { FetchError, type Fetcher } from './fetcher.ts';

/**
 * What every Fetcher adapter must do, against the local test website. `make` builds the adapter
 * allowed to reach the site, with a 1 MB cap and a 1 s overall timeout.
 */
export function fetcherContract(name: string, make: (site: FakeWebsite) => Fetcher) {
  describe(`fetcher contract: ${name}`, () => {
    let site: FakeWebsite;
    let f: Fetcher;
    before(async () => {
      site = await startFakeWebsite({ slowMs: 5_000, hugeBytes: 3_000_000 });
      f = make(site);
    });
    after(() => site.close());
    const code = (c: string) => (e: unknown) => e instanceof FetchError && e.code === c;

    it('returns status, media type, charset and body', async () => {
      const res = await f.fetch(`${site.url}/about`);
      assert.equal(res.status, 200);
      assert.equal(res.contentType, 'text/html');
      assert.equal(res.charset, 'utf-8');
      assert.ok(res.body.toString('utf8').includes('About Acme Corp'));
    });
    it('returns error statuses rather than throwing', async () => {
      assert.equal((await f.fetch(`${site.url}/missing`)).status, 404);
    });
    it('follows relative and absolute redirects and reports the final URL', async () => {
      assert.equal((await f.fetch(`${site.url}/redirect`)).url, `${site.url}/about`);
      assert.equal((await f.fetch(`${site.url}/go?status=308&to=${encodeURIComponent(`${site.url}/team`)}`)).url, `${site.url}/team`);
    });
    it('refuses other schemes and credentials', async () => {
      await assert.rejects(f.fetch('file:///etc/passwd'), code('FETCH_BLOCKED'));
      await assert.rejects(f.fetch(`http://u:p@127.0.0.1:${site.port}/`), code('FETCH_BLOCKED'));
      await assert.rejects(f.fetch('not a url'), code('FETCH_INVALID_URL'));
    });
    it('caps the body, stops redirect loops, times out, and obeys the caller signal', async () => {
      await assert.rejects(f.fetch(`${site.url}/huge`), code('FETCH_TOO_LARGE'));
      await assert.rejects(f.fetch(`${site.url}/loop`), code('FETCH_TOO_MANY_REDIRECTS'));
      await assert.rejects(f.fetch(`${site.url}/slow`), (e: unknown) => code('FETCH_TIMEOUT')(e) && (e as FetchError).retryable);
      const controller = new AbortController();
      const pending = f.fetch(`${site.url}/slow`, { signal: controller.signal });
      controller.abort();
      await assert.rejects(pending, (e: unknown) => e instanceof FetchError);
    });
  });
}
