import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockedRange, isLocalName, pinnedLookup, resolveHost, resolvePublic, systemResolver, urlHost, type Resolver } from './address-policy.ts';

// Each non-public range at both of its ends, and the public addresses just outside: a range
// narrowed (127.0.0.0/8 to 127.0.0.1/32) or widened by a bit fails here, not only 127.0.0.1.
const EDGES: [label: string, inside: string[], outside: string[]][] = [
  ['a "this network" address', ['0.0.0.0', '0.255.255.255'], ['1.0.0.0']],
  ['a private address', ['10.0.0.0', '10.255.255.255', '172.16.0.0', '172.31.255.255', '192.168.0.0', '192.168.255.255'], ['9.255.255.255', '11.0.0.0', '172.15.255.255', '172.32.0.0', '192.167.255.255', '192.169.0.0']],
  ['a carrier-grade NAT address', ['100.64.0.0', '100.127.255.255'], ['100.63.255.255', '100.128.0.0']],
  ['a loopback address', ['127.0.0.0', '127.0.0.1', '127.1.2.3', '127.255.255.255', '::1'], ['126.255.255.255', '128.0.0.0']],
  ['a link-local or cloud metadata address', ['169.254.0.0', '169.254.169.254', '169.254.255.255'], ['169.253.255.255', '169.255.0.0']],
  ['an IETF protocol address', ['192.0.0.0', '192.0.0.255'], ['192.0.1.0']],
  ['a documentation address', ['192.0.2.0', '192.0.2.255', '198.51.100.7', '203.0.113.255', '2001:db8::1', '2001:db8:ffff::'], ['192.0.3.0', '198.51.101.0', '203.0.114.0', '2001:db9::']],
  ['a benchmarking address', ['198.18.0.0', '198.19.255.255'], ['198.17.255.255', '198.20.0.0']],
  ['a multicast address', ['224.0.0.0', '239.255.255.255', 'ff00::', 'ff02::1'], ['223.255.255.255', 'fe00::']],
  ['a reserved or broadcast address', ['240.0.0.0', '255.255.255.255'], []],
  ['the unspecified address', ['::'], []],
  ['an IPv4-compatible IPv6 address', ['::127.0.0.1', '::ffff:ffff'], ['0:0:0:0:0:1::']],
  ['an IPv4-mapped IPv6 address', ['::ffff:127.0.0.1', '::ffff:8.8.8.8', '::ffff:0:0'], ['::fffe:0:0', '::1:0:0:0']],
  ['a NAT64 address', ['64:ff9b::7f00:1', '64:ff9b::ffff:ffff', '64:ff9b:1::1', '64:ff9b:1:ffff::'], ['64:ff9b::1:0:0:0', '64:ff9b:2::']],
  ['a discard-only address', ['100::', '100::ffff:ffff:ffff:ffff'], ['100:0:0:1::']],
  ['a Teredo address', ['2001::', '2001:0:ffff::1'], ['2001:1::']],
  ['a 6to4 address', ['2002::', '2002:ffff::1'], ['2003::']],
  ['a unique-local (private) address', ['fc00::', 'fdff:ffff::1'], ['fbff::', 'fe00::1']],
  ['a link-local address', ['fe80::', 'febf:ffff::1'], ['fe7f::']],
  ['a site-local address', ['fec0::', 'feff::1'], []],
];

describe('address policy', () => {
  for (const [label, inside, outside] of EDGES) {
    it(`${label}: both ends of the range are refused, the neighbours are public`, () => {
      for (const a of inside) assert.equal(blockedRange(a), label, a);
      for (const a of outside) assert.equal(blockedRange(a), undefined, a);
    });
  }

  it('public addresses pass, bracketed IPv6 included; what is not an IP is refused', () => {
    for (const a of ['8.8.8.8', '93.184.216.34', '1.1.1.1', '2606:4700::1111', '[2606:4700::1111]', '2001:4860:4860::8888']) assert.equal(blockedRange(a), undefined, a);
    assert.equal(blockedRange('[::1]'), 'a loopback address');
    assert.equal(blockedRange('example.com'), 'not an IP address');
    assert.equal(blockedRange(''), 'not an IP address');
    // Only the brackets around an IPv6 address are taken off: one inside leaves no IP address.
    for (const a of ['8.8.[8.8', '8.8.]8.8', '2606:4700:[:1111', '2606:4700:]:1111']) assert.equal(blockedRange(a), 'not an IP address', a);
  });

  it('localhost names are loopback without DNS', () => {
    for (const h of ['localhost', 'LOCALHOST', 'localhost.', 'a.b.localhost', 'localhost.localdomain']) assert.equal(isLocalName(h), true, h);
    for (const h of ['localhost.com', 'mylocalhost', 'example.com', 'localhostx']) assert.equal(isLocalName(h), false, h);
  });

  it('resolves names and refuses any that reaches a non-public address, naming it', async () => {
    const asked: string[] = [];
    const dns: Resolver = async (host) => {
      asked.push(host);
      if (host === 'gone.example') throw new Error('ENOTFOUND');
      if (host === 'empty.example') return [];
      if (host === 'mixed.example') return [{ address: '93.184.216.34', family: 4 }, { address: '10.1.2.3', family: 4 }];
      return [{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1111', family: 6 }];
    };
    assert.deepEqual(await resolvePublic('ok.example', dns), { ok: true, addresses: [{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1111', family: 6 }] });
    assert.deepEqual(await resolvePublic('mixed.example', dns), { ok: false, resolved: true, reason: 'host mixed.example resolves to 10.1.2.3, a private address' });
    assert.deepEqual(await resolvePublic('gone.example', dns), { ok: false, resolved: false, reason: 'host gone.example does not resolve' });
    assert.deepEqual(await resolvePublic('empty.example', dns), { ok: false, resolved: false, reason: 'host empty.example does not resolve' });
    assert.deepEqual(await resolvePublic('127.9.9.9', dns), { ok: false, resolved: true, reason: '127.9.9.9 is a loopback address' });
    assert.deepEqual(await resolvePublic('8.8.4.4', dns), { ok: true, addresses: [{ address: '8.8.4.4', family: 4 }] });
    assert.deepEqual(await resolvePublic('2606:4700::1111', dns), { ok: true, addresses: [{ address: '2606:4700::1111', family: 6 }] });
    assert.deepEqual(await resolvePublic('app.localhost', dns), { ok: false, resolved: true, reason: 'app.localhost is a loopback name' });
    assert.deepEqual(asked, ['ok.example', 'mixed.example', 'gone.example', 'empty.example'], 'IP literals and localhost names never reach DNS');
  });

  it('takes one given address as public for a resolved name only (the fetcher\'s test-only public site)', async () => {
    const dns: Resolver = async (host) => (host === 'mixed.example' ? [{ address: '127.0.0.1', family: 4 }, { address: '10.1.2.3', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    assert.deepEqual(await resolvePublic('public.test', dns, '127.0.0.1'), { ok: true, addresses: [{ address: '127.0.0.1', family: 4 }] });
    assert.deepEqual(await resolvePublic('public.test', dns, '127.0.0.2'), { ok: false, resolved: true, reason: 'host public.test resolves to 127.0.0.1, a loopback address' });
    assert.deepEqual(await resolvePublic('mixed.example', dns, '127.0.0.1'), { ok: false, resolved: true, reason: 'host mixed.example resolves to 10.1.2.3, a private address' });
    assert.deepEqual(await resolvePublic('127.0.0.1', dns, '127.0.0.1'), { ok: false, resolved: true, reason: '127.0.0.1 is a loopback address' });
    assert.deepEqual(await resolvePublic('localhost', dns, '127.0.0.1'), { ok: false, resolved: true, reason: 'localhost is a loopback name' });
  });

  it('resolves without checking when private addresses are allowed: IP literals as they are, names by DNS', async () => {
    const asked: string[] = [];
    const dns: Resolver = async (host) => {
      asked.push(host);
      if (host === 'gone.example') throw new Error('ENOTFOUND');
      return [{ address: '10.1.2.3', family: 4 }];
    };
    assert.deepEqual(await resolveHost('127.0.0.1', dns), [{ address: '127.0.0.1', family: 4 }]);
    assert.deepEqual(await resolveHost('::1', dns), [{ address: '::1', family: 6 }]);
    assert.deepEqual(await resolveHost('intranet.example', dns), [{ address: '10.1.2.3', family: 4 }]);
    await assert.rejects(resolveHost('gone.example', dns), /ENOTFOUND/);
    assert.deepEqual(asked, ['intranet.example', 'gone.example'], 'IP literals never reach DNS');
  });

  it('connects only to the checked addresses, in both lookup forms', () => {
    const lookup = pinnedLookup([{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1111', family: 6 }]);
    const calls: unknown[][] = [];
    lookup('elsewhere.example', { all: true }, (...args: unknown[]) => calls.push(args));
    lookup('elsewhere.example', {}, (...args: unknown[]) => calls.push(args));
    assert.deepEqual(calls, [
      [null, [{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1111', family: 6 }]],
      [null, '93.184.216.34', 4],
    ]);
  });

  it('asks the system resolver for every address, each with its family', async () => {
    // Literals resolve without a DNS server: the shape of the answer is what is checked here.
    assert.deepEqual(await systemResolver('127.0.0.1'), [{ address: '127.0.0.1', family: 4 }]);
    assert.deepEqual(await systemResolver('::1'), [{ address: '::1', family: 6 }]);
  });

  it('takes the host of a URL without IPv6 brackets', () => {
    assert.equal(urlHost(new URL('http://[::1]:8080/x')), '::1');
    assert.equal(urlHost(new URL('http://2130706433/')), '127.0.0.1');
    assert.equal(urlHost(new URL('http://Example.COM/')), 'example.com');
  });
});
