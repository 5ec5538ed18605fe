import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { COMPANY, startFakeWebsite, type FakeWebsite } from '../../../test/fakes/website.ts';
import { FetchError } from './fetcher.ts';
import { createHttpFetcher } from './http-fetcher.ts';
import { createPoliteness } from './politeness.ts';
import { createRobots } from './robots.ts';
import { createWebReader, type PageCache, type WebPage } from './web-reader.ts';

let site: FakeWebsite;
before(async () => {
  site = await startFakeWebsite({ slowMs: 3_000, hugeBytes: 3_000_000 });
});
after(() => site.close());

function reader(options: { delayMs?: number; concurrency?: number; cache?: PageCache; timeoutMs?: number } = {}) {
  const fetcher = createHttpFetcher({ allowPrivate: true, userAgent: 'cellwise/0.1 (test)', connectTimeoutMs: 2_000, timeoutMs: options.timeoutMs ?? 5_000, maxBytes: 1_000_000 });
  return createWebReader({
    fetcher,
    robots: createRobots({ fetcher, agent: 'cellwise' }),
    politeness: createPoliteness({ concurrency: options.concurrency ?? 4, delayMs: options.delayMs ?? 0 }),
    ...(options.cache ? { cache: options.cache } : {}),
    maxAgeMs: 60_000,
  });
}
const failsWith = async (p: Promise<unknown>, code: string, retryable?: boolean) => {
  const err = await p.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof FetchError, String(err));
  assert.equal(err.code, code, err.message);
  if (retryable !== undefined) assert.equal(err.retryable, retryable, err.message);
};

describe('web reader', () => {
  const r = reader();
  it('reads an article: title, readable text, links, after a redirect', async () => {
    const page = await r.read('w1', `${site.url}/redirect`);
    assert.equal(page.finalUrl, `${site.url}/about`);
    assert.equal(page.title, 'About Acme Corp');
    assert.ok(page.text.includes(COMPANY.about), page.text.slice(0, 300));
    // The article's heading is a Markdown heading line of its own (Readability demotes an article's <h1> to <h2>).
    assert.match(page.text, /^## About us$/m, page.text.slice(0, 300));
    assert.equal(page.cached, false);
    const home = await r.read('w1', `${site.url}/`);
    assert.equal(home.description, 'Acme Corp: desert equipment');
    assert.equal(home.canonicalUrl, `${site.url}/`);
    assert.ok(home.links.some((l) => l.url === `${site.url}/team` && l.text === 'Our team'));
  });
  it('decodes gzip and declared charsets; reads plain text', async () => {
    assert.ok((await r.read('w1', `${site.url}/gzip`)).text.includes(COMPANY.about));
    assert.ok((await r.read('w1', `${site.url}/latin1`)).text.includes('Caf\u00e9 cr\u00e8me'));
    assert.ok((await r.read('w1', `${site.url}/notes.txt`)).text.includes(COMPANY.hours));
  });
  it('respects robots.txt, including rules for its own user agent', async () => {
    await failsWith(r.read('w1', `${site.url}/private/secret`), 'FETCH_ROBOTS_DISALLOWED', false);
    await failsWith(r.read('w1', `${site.url}/no-cellwise`), 'FETCH_ROBOTS_DISALLOWED', false);
    assert.ok(!site.requests.includes('/private/secret') && !site.requests.includes('/no-cellwise'));
    assert.equal(site.requests.filter((p) => p === '/robots.txt').length, 1, 'robots.txt is fetched once per origin');
  });
  it('bot walls, login walls, error pages and empty shells are failures, not content', async () => {
    await failsWith(r.read('w1', `${site.url}/botwall`), 'FETCH_BOT_WALL', true);
    await failsWith(r.read('w1', `${site.url}/captcha`), 'FETCH_BOT_WALL');
    await failsWith(r.read('w1', `${site.url}/login`), 'FETCH_LOGIN_WALL', false);
    await failsWith(r.read('w1', `${site.url}/soft404`), 'FETCH_ERROR_PAGE', false);
    await failsWith(r.read('w1', `${site.url}/empty`), 'FETCH_NO_CONTENT');
    await failsWith(r.read('w1', `${site.url}/missing`), 'FETCH_HTTP_ERROR', false);
    await failsWith(r.read('w1', `${site.url}/error`), 'FETCH_HTTP_ERROR', true);
  });
  it('refuses PDFs (no documents pipeline in this build) and other content types with a reason', async () => {
    await failsWith(r.read('w1', `${site.url}/brochure.pdf`), 'FETCH_UNSUPPORTED_CONTENT');
    await failsWith(r.read('w1', `${site.url}/logo.png`), 'FETCH_UNSUPPORTED_CONTENT');
  });
  it('caps the response size, after decompression too', async () => {
    await failsWith(r.read('w1', `${site.url}/huge`), 'FETCH_TOO_LARGE');
    await failsWith(r.read('w1', `${site.url}/bomb`), 'FETCH_TOO_LARGE');
  });
  it('times out a slow page and stops redirect loops', async () => {
    const quick = reader({ timeoutMs: 300 });
    await failsWith(quick.read('w1', `${site.url}/slow`), 'FETCH_TIMEOUT', true);
    await failsWith(r.read('w1', `${site.url}/loop`), 'FETCH_TOO_MANY_REDIRECTS');
  });
  it('serves fresh pages from the cache without a request', async () => {
    const store = new Map<string, WebPage>();
    const cache: PageCache = { get: async (w, u) => store.get(`${w} ${u}`), put: async (w, u, p) => void store.set(`${w} ${u}`, p) };
    const cached = reader({ cache });
    await cached.read('w1', `${site.url}/team`);
    const before = site.requests.length;
    const again = await cached.read('w1', `${site.url}/team`);
    assert.equal(again.cached, true);
    assert.equal(site.requests.length, before);
    assert.equal((await cached.read('w2', `${site.url}/team`)).cached, false, 'the cache is per workspace');
  });
  it('spaces requests to one host by the politeness delay', async () => {
    const polite = reader({ delayMs: 150, concurrency: 1 });
    await polite.read('w1', `${site.url}/c/1`); // robots.txt first
    const from = site.times.length;
    await Promise.all([2, 3, 4].map((i) => polite.read('w1', `${site.url}/c/${i}`)));
    const times = site.times.slice(from);
    assert.equal(times.length, 3);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 140, `gap ${times[i]! - times[i - 1]!} ms`);
  });
});

describe('a cached page under a stricter policy (issue 11 item 13)', () => {
  it('is not served when its URL would be refused now: the read fails as a fresh fetch would', async () => {
    const pages = new Map<string, WebPage>();
    const cache: PageCache = { get: async (ws, url) => pages.get(`${ws} ${url}`), put: async (ws, url, page) => void pages.set(`${ws} ${url}`, page) };
    // First run: private addresses allowed, the loopback page is fetched and cached.
    const before = await reader({ cache }).read('w1', `${site.url}/about`);
    assert.equal(before.cached, false);
    // Later: the policy is off. The fetcher and the cache check both say no.
    const { publicAddressNow } = await import('../../engine/executors/web-setup.ts');
    const strictFetcher = createHttpFetcher({ allowPrivate: false, userAgent: 'cellwise/0.1 (test)', connectTimeoutMs: 2_000, timeoutMs: 5_000, maxBytes: 1_000_000 });
    const strict = createWebReader({ fetcher: strictFetcher, robots: createRobots({ fetcher: strictFetcher, agent: 'cellwise' }), politeness: createPoliteness({ concurrency: 4, delayMs: 0 }), cache, maxAgeMs: 60_000, allowedNow: publicAddressNow });
    await failsWith(strict.read('w1', `${site.url}/about`), 'FETCH_BLOCKED');
    assert.equal(await publicAddressNow(new URL('https://93.184.215.14/')), true, 'a public address is still allowed');
  });
});
