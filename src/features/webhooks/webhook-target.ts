import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { InvalidParametersError } from '../../http/errors.ts';

/** Loopback, private, link-local, metadata, CGNAT and other non-public ranges, v4 and v6. */
const PRIVATE = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['::ffff:0:0', 96], ['64:ff9b::', 96]] as const) PRIVATE.addSubnet(net, bits, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * A webhook target must be HTTPS on a public address, unless CELLWISE_FETCH_ALLOW_PRIVATE lets
 * tests and intranets use http and private addresses. Checked when the webhook is saved and again
 * before every delivery (DNS can change in between).
 */
export async function checkWebhookTarget(url: string, allowPrivate: boolean, path = 'url'): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidParametersError([{ path, message: 'must be an absolute URL' }]);
  }
  if (parsed.username || parsed.password) throw new InvalidParametersError([{ path, message: 'must not contain credentials' }]);
  if (parsed.protocol !== 'https:' && !(allowPrivate && parsed.protocol === 'http:')) throw new InvalidParametersError([{ path, message: 'must use https' }]);
  if (allowPrivate) return;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    throw new InvalidParametersError([{ path, message: `host ${host} does not resolve` }]);
  }
  if (addresses.some(isPrivateAddress)) throw new InvalidParametersError([{ path, message: `host ${host} is a private or loopback address` }]);
}
