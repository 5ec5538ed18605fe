import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeWebsite, type FakeWebsite } from '../../../test/fakes/website.ts';
import type { Resolver } from './address-policy.ts';
import { FetchError, type Fetcher } from './fetcher.ts';
import { createHttpFetcher } from './http-fetcher.ts';

/**
 * SSRF attempts with private fetching disabled. Each target is the real test website where it can
 * be (so a connection would succeed if the check failed), carries a unique marker, and must be
 * refused with FETCH_BLOCKED and never requested. `public.test` plays a public site (the fetcher's
 * test-only pretendPublic) that redirects wherever it is told.
 */
let site: FakeWebsite;
let fetcher: Fetcher;
const DNS: Record<string, string[]> = {
  'internal.example': ['10.1.2.3'],
  'rebind.example': ['93.184.216.34', '127.0.0.1'],
  'v6loop.example': ['::1'],
  'mapped.example': ['::ffff:127.0.0.1'],
  'metadata.example': ['169.254.169.254'],
  'ula.example': ['fd00::1'],
  'zero.example': ['0.0.0.0'],
};
const resolver: Resolver = async (host) => {
  const list = DNS[host.toLowerCase()];
  if (!list) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

before(async () => {
  site = await startFakeWebsite();
  fetcher = createHttpFetcher({ allowPrivate: false, userAgent: 'cellwise-test', connectTimeoutMs: 2_000, timeoutMs: 5_000, maxBytes: 1_000_000, resolver, pretendPublic: { 'public.test': { address: '127.0.0.1', port: site.port } } });
});
after(() => site.close());

/** The SSRF cases, by family; `P` is replaced by the website's port. Exported for the count in the report. */
export const SSRF_CASES: Record<string, string[]> = {
  'literal IPv4 (decimal, octal, hex, short, encoded forms)': [
    'http://127.0.0.1:P/',
    'http://127.1:P/',
    'http://2130706433:P/',
    'http://0x7f000001:P/',
    'http://0x7f.0.0.1:P/',
    'http://0177.0.0.1:P/',
    'http://017700000001:P/',
    'http://127.0.0.1.:P/',
    'http://%31%32%37.0.0.1:P/',
    'http://\u2460\u2461\u2466.0.0.1:P/',
    'http://0:P/',
    'http://0.0.0.0:P/',
    'http://10.0.0.1/',
    'http://172.16.5.4/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'https://127.0.0.1:P/',
  ],
  'literal IPv6 (loopback, mapped, compatible, link-local, ULA, NAT64, 6to4)': [
    'http://[::1]:P/',
    'http://[0:0:0:0:0:0:0:1]:P/',
    'http://[::]:P/',
    'http://[::ffff:127.0.0.1]:P/',
    'http://[::ffff:7f00:1]:P/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::127.0.0.1]:P/',
    'http://[fe80::1]/',
    'http://[fc00::1]/',
    'http://[fd00:ec2::254]/',
    'http://[64:ff9b::7f00:1]/',
    'http://[2002:7f00:1::]/',
  ],
  'names that are or resolve to private addresses': [
    'http://localhost:P/',
    'http://LOCALHOST:P/',
    'http://localhost.:P/',
    'http://app.localhost:P/',
    'http://internal.example/',
    'http://rebind.example:P/',
    'http://v6loop.example:P/',
    'http://mapped.example:P/',
    'http://metadata.example/latest/meta-data/',
    'http://ula.example/',
    'http://zero.example:P/',
  ],
  'redirects from a public site to private targets': [
    'http://public.test:P/go?to=http://127.0.0.1:P/about',
    'http://public.test:P/go?to=http://localhost:P/about',
    'http://public.test:P/go?to=http://[::1]:P/about',
    'http://public.test:P/go?to=http://[::ffff:127.0.0.1]:P/about',
    'http://public.test:P/go?to=http://2130706433:P/about',
    'http://public.test:P/go?to=http://internal.example/',
    'http://public.test:P/go?to=http://169.254.169.254/latest/meta-data/',
    'http://public.test:P/go?status=307&to=http://127.0.0.1:P/about',
    'http://public.test:P/go?status=308&to=http://rebind.example:P/about',
    'http://public.test:P/go?status=301&to=http://public.test:P/go%3Fto%3Dhttp://127.0.0.1:P/about',
    'http://public.test:P/go?to=file:///etc/passwd',
    'http://public.test:P/go?to=gopher://127.0.0.1:6379/_INFO',
    'http://public.test:P/go?to=http://user:pass@public.test:P/about',
  ],
  'other schemes': ['file:///etc/passwd', 'file://localhost/etc/passwd', 'gopher://127.0.0.1:70/_hi', 'ftp://example.com/file', 'data:text/html,<p>hi</p>', 'javascript:alert(1)', 'dict://127.0.0.1:11211/stats', 'ldap://127.0.0.1/', 'ws://127.0.0.1:P/', 'sftp://example.com/'],
  'credentials in URLs': ['http://user:pass@public.test:P/about', 'http://user@public.test:P/about', 'http://:secret@public.test:P/about', 'https://admin:admin@example.com/'],
};

describe('SSRF: every attempt is refused with FETCH_BLOCKED and never reaches the target', () => {
  it('the test-only public host really is reachable (so the refusals below mean something)', async () => {
    const res = await fetcher.fetch(`http://public.test:${site.port}/about`);
    assert.equal(res.status, 200);
    const redirected = await fetcher.fetch(`http://public.test:${site.port}/go?to=/team`);
    assert.equal(new URL(redirected.url).pathname, '/team');
  });

  let n = 0;
  for (const [family, cases] of Object.entries(SSRF_CASES)) {
    describe(family, () => {
      for (const template of cases) {
        const marker = `ssrf${++n}`;
        it(template, async () => {
          const raw = template.replaceAll(':P', `:${site.port}`);
          // Mark the final target so the website can tell whether it was ever requested.
          const url = raw.includes('/about') ? raw.replace('/about', `/about?m=${marker}`) : raw;
          const before = site.requests.length;
          const err = await fetcher.fetch(url).then(
            () => assert.fail(`${url} was fetched`),
            (e: unknown) => e,
          );
          assert.ok(err instanceof FetchError, String(err));
          assert.equal(err.code, 'FETCH_BLOCKED', `${url}: ${err.code} ${err.message}`);
          assert.ok(err.message.length > 10, 'a reason is given');
          const reached = site.requests.slice(before).filter((r) => !r.startsWith('/go'));
          assert.deepEqual(reached, [], `${url} reached the website: ${reached.join(', ')}`);
        });
      }
    });
  }
});

describe('SSRF: with CELLWISE_FETCH_ALLOW_PRIVATE the same fetcher reaches loopback', () => {
  it('fetches 127.0.0.1 and follows a redirect to it', async () => {
    const open = createHttpFetcher({ allowPrivate: true, userAgent: 'cellwise-test', connectTimeoutMs: 2_000, timeoutMs: 5_000, maxBytes: 1_000_000 });
    assert.equal((await open.fetch(`${site.url}/go?to=${encodeURIComponent(`${site.url}/about`)}`)).status, 200);
    await assert.rejects(open.fetch('file:///etc/passwd'), (e: unknown) => e instanceof FetchError && e.code === 'FETCH_BLOCKED');
  });
});

describe('the fetcher\'s own checks: ports, DNS failures, redirect limits', () => {
  const code = async (p: Promise<unknown>) => p.then(() => 'fetched', (e: unknown) => (e instanceof FetchError ? e : String(e)));

  it('takes a test-only public host as public on its own port only, and a URL without a port as 80 or 443', async () => {
    const before = site.requests.length;
    const other = await code(fetcher.fetch(`http://public.test:${site.port + 1}/about`));
    assert.ok(other instanceof FetchError && other.code === 'FETCH_BLOCKED', String(other));
    // Refused by the address policy itself, which names what it refused.
    assert.ok(other.message.includes(`public.test:${site.port + 1}`) && other.message.includes('127.0.0.1, a loopback address'), other.message);
    assert.equal(site.requests.length, before);
    const ports = createHttpFetcher({ allowPrivate: false, userAgent: 'cellwise-test', connectTimeoutMs: 2_000, timeoutMs: 5_000, maxBytes: 1_000_000, resolver, pretendPublic: { 'web80.test': { address: '127.0.0.1', port: 80 }, 'web443.test': { address: '127.0.0.1', port: 443 } } });
    for (const url of ['http://web443.test/', 'https://web80.test/']) {
      const err = await code(ports.fetch(url));
      assert.ok(err instanceof FetchError && err.code === 'FETCH_BLOCKED', `${url}: ${String(err)}`);
    }
    // The default port matches: the check lets them through (whatever answers, or not, on this machine).
    for (const url of ['http://web80.test/', 'https://web443.test/']) {
      const err = await code(ports.fetch(url));
      assert.ok(!(err instanceof FetchError && err.code === 'FETCH_BLOCKED'), `${url}: ${err instanceof FetchError ? err.message : String(err)}`);
    }
  });

  it('a name that does not resolve is FETCH_DNS, retryable, with or without private addresses allowed; IP literals never reach DNS', async () => {
    const gone = await code(fetcher.fetch('http://nowhere.example/'));
    assert.ok(gone instanceof FetchError && gone.code === 'FETCH_DNS' && gone.retryable, String(gone));
    const asked: string[] = [];
    const intranet = createHttpFetcher({
      allowPrivate: true, userAgent: 'cellwise-test', connectTimeoutMs: 2_000, timeoutMs: 5_000, maxBytes: 1_000_000,
      resolver: async (host) => {
        asked.push(host);
        if (host === 'intranet.test') return [{ address: '127.0.0.1', family: 4 }];
        throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      },
    });
    assert.equal((await intranet.fetch(`http://intranet.test:${site.port}/about`)).status, 200, 'a name is resolved by the resolver');
    assert.equal((await intranet.fetch(`${site.url}/about`)).status, 200);
    const missing = await code(intranet.fetch('http://missing.test/'));
    assert.ok(missing instanceof FetchError && missing.code === 'FETCH_DNS' && missing.retryable, String(missing));
    // The message ends on the cell: it names the host that did not resolve.
    assert.ok(gone.message.includes('nowhere.example') && missing.message.includes('missing.test'), `${gone.message} / ${missing.message}`);
    assert.deepEqual(asked, ['intranet.test', 'missing.test'], 'the IP literal was not looked up');
  });

  it('follows up to maxRedirects redirects, not one more, and refuses a redirect to an invalid URL', async () => {
    const two = createHttpFetcher({ allowPrivate: true, userAgent: 'cellwise-test', connectTimeoutMs: 2_000, timeoutMs: 5_000, maxBytes: 1_000_000, maxRedirects: 2 });
    const via = (hops: number) => {
      let target = '/about';
      for (let i = 0; i < hops; i++) target = `/go?to=${encodeURIComponent(target)}`;
      return `${site.url}${target}`;
    };
    assert.equal(new URL((await two.fetch(via(2))).url).pathname, '/about');
    const three = await code(two.fetch(via(3)));
    assert.ok(three instanceof FetchError && three.code === 'FETCH_TOO_MANY_REDIRECTS', String(three));
    // The messages end on the cell: they name the URL, a long one cut to its first 200 characters.
    assert.ok(three.message.includes(via(3)), three.message);
    const long = `${via(3)}&pad=${'x'.repeat(300)}`;
    const longErr = await code(two.fetch(long));
    assert.ok(longErr instanceof FetchError && longErr.code === 'FETCH_TOO_MANY_REDIRECTS', String(longErr));
    assert.ok(longErr.message.includes(long.slice(0, 200)) && !longErr.message.includes(long.slice(0, 201)), longErr.message);
    const from = `${site.url}/go?to=${encodeURIComponent('http://[bad')}`;
    const invalid = await code(two.fetch(from));
    assert.ok(invalid instanceof FetchError && invalid.code === 'FETCH_INVALID_URL', String(invalid));
    assert.ok(invalid.message.includes(from), invalid.message);
  });
});
