import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Which addresses outgoing requests (web fetches, webhooks) may reach. Shared by the web fetcher,
 * which checks every resolved address at connect time, and by webhook targets.
 */

/** Non-public ranges, v4 and v6, each with the words a refusal uses. */
const RANGES: readonly (readonly [label: string, family: 'ipv4' | 'ipv6', net: string, bits: number])[] = [
  ['a "this network" address', 'ipv4', '0.0.0.0', 8],
  ['a private address', 'ipv4', '10.0.0.0', 8],
  ['a carrier-grade NAT address', 'ipv4', '100.64.0.0', 10],
  ['a loopback address', 'ipv4', '127.0.0.0', 8],
  ['a link-local or cloud metadata address', 'ipv4', '169.254.0.0', 16],
  ['a private address', 'ipv4', '172.16.0.0', 12],
  ['an IETF protocol address', 'ipv4', '192.0.0.0', 24],
  ['a documentation address', 'ipv4', '192.0.2.0', 24],
  ['a private address', 'ipv4', '192.168.0.0', 16],
  ['a benchmarking address', 'ipv4', '198.18.0.0', 15],
  ['a documentation address', 'ipv4', '198.51.100.0', 24],
  ['a documentation address', 'ipv4', '203.0.113.0', 24],
  ['a multicast address', 'ipv4', '224.0.0.0', 4],
  ['a reserved or broadcast address', 'ipv4', '240.0.0.0', 4],
  ['the unspecified address', 'ipv6', '::', 128],
  ['a loopback address', 'ipv6', '::1', 128],
  // ::a.b.c.d (deprecated IPv4-compatible) and ::ffff:a.b.c.d (IPv4-mapped) reach IPv4 hosts.
  ['an IPv4-compatible IPv6 address', 'ipv6', '::', 96],
  ['an IPv4-mapped IPv6 address', 'ipv6', '::ffff:0:0', 96],
  ['a NAT64 address', 'ipv6', '64:ff9b::', 96],
  ['a NAT64 address', 'ipv6', '64:ff9b:1::', 48],
  ['a discard-only address', 'ipv6', '100::', 64],
  ['a Teredo address', 'ipv6', '2001::', 32],
  ['a documentation address', 'ipv6', '2001:db8::', 32],
  ['a 6to4 address', 'ipv6', '2002::', 16],
  ['a unique-local (private) address', 'ipv6', 'fc00::', 7],
  ['a link-local address', 'ipv6', 'fe80::', 10],
  ['a site-local address', 'ipv6', 'fec0::', 10],
  ['a multicast address', 'ipv6', 'ff00::', 8],
];
const LISTS = RANGES.map(([label, family, net, bits]) => {
  const list = new BlockList();
  list.addSubnet(net, bits, family);
  return { label, family, list };
});

/** Why an address is not public ("a loopback address"), or undefined when it is public. Not an IP at all counts as blocked. */
export function blockedRange(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  return LISTS.find((r) => r.family === type && r.list.check(bare, type))?.label;
}

/** Names that resolve to loopback by definition (RFC 6761), refused before any DNS query. */
export function isLocalName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === 'localhost.localdomain';
}

export type ResolvedAddress = { address: string; family: 4 | 6 };
/** DNS as the fetcher sees it; injectable so that tests can make names resolve to anything. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/**
 * The host of a URL without IPv6 brackets. WHATWG URL parsing has already turned decimal, octal
 * and hex IPv4 forms (`2130706433`, `0177.0.0.1`, `0x7f.1`) into dotted quads and compressed IPv6.
 */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** An IP literal as the one address it is; undefined for a name. */
function literal(host: string): ResolvedAddress | undefined {
  const family = isIP(host);
  return family ? { address: host, family: family === 6 ? 6 : 4 } : undefined;
}

/**
 * The addresses to connect to for a host, unchecked (private addresses allowed): an IP literal is
 * its own address and never reaches DNS, a name is resolved. Rejects when the name does not resolve.
 */
export async function resolveHost(host: string, resolve: Resolver = systemResolver): Promise<ResolvedAddress[]> {
  const ip = literal(host);
  return ip ? [ip] : resolve(host);
}

/**
 * Resolves a host and refuses it when any address is not public: a name resolving to both a public
 * and a private address is treated as hostile. Returns the checked addresses, which are the ones to
 * connect to (connecting by name again would re-resolve: the DNS-rebinding gap).
 *
 * `publicForTests`: an address a resolved name may have and still count as public. Only the web
 * fetcher's test-only `pretendPublic` passes it (the local test website playing a public site);
 * IP literals and localhost names are refused all the same.
 */
export async function resolvePublic(host: string, resolve: Resolver = systemResolver, publicForTests?: string): Promise<{ ok: true; addresses: ResolvedAddress[] } | { ok: false; reason: string; resolved: boolean }> {
  const ip = literal(host);
  if (ip) {
    const why = blockedRange(host);
    return why ? { ok: false, resolved: true, reason: `${host} is ${why}` } : { ok: true, addresses: [ip] };
  }
  if (isLocalName(host)) return { ok: false, resolved: true, reason: `${host} is a loopback name` };
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch {
    return { ok: false, resolved: false, reason: `host ${host} does not resolve` };
  }
  if (!addresses.length) return { ok: false, resolved: false, reason: `host ${host} does not resolve` };
  for (const a of addresses) {
    const why = blockedRange(a.address);
    if (why && a.address !== publicForTests) return { ok: false, resolved: true, reason: `host ${host} resolves to ${a.address}, ${why}` };
  }
  return { ok: true, addresses };
}

/**
 * A socket `lookup` that answers with addresses checked beforehand instead of asking DNS again:
 * what was checked is what gets connected to. Handles both the single-address and the `all`
 * (happy eyeballs) forms Node asks for.
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) (callback as unknown as (err: null, list: readonly ResolvedAddress[]) => void)(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
}
