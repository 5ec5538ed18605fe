import http from 'node:http';
import https from 'node:https';
import { InvalidParametersError } from '../../http/errors.ts';
import { pinnedLookup, resolvePublic, urlHost, type ResolvedAddress } from '../../providers/web/address-policy.ts';

/**
 * A webhook target must be HTTPS on a public address, unless CELLWISE_FETCH_ALLOW_PRIVATE lets
 * tests and intranets use http and private addresses. Checked when the webhook is saved and again
 * before every delivery (DNS can change in between). Returns the checked addresses (none when
 * private targets are allowed): a delivery connects to exactly those (see postToTarget).
 */
export async function checkWebhookTarget(url: string, allowPrivate: boolean, path = 'url'): Promise<ResolvedAddress[] | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidParametersError([{ path, message: 'must be an absolute URL' }]);
  }
  if (parsed.username || parsed.password) throw new InvalidParametersError([{ path, message: 'must not contain credentials' }]);
  if (parsed.protocol !== 'https:' && !(allowPrivate && parsed.protocol === 'http:')) throw new InvalidParametersError([{ path, message: 'must use https' }]);
  if (allowPrivate) return undefined;
  const checked = await resolvePublic(urlHost(parsed));
  if (!checked.ok) throw new InvalidParametersError([{ path, message: checked.resolved ? `${checked.reason}: not a public address` : checked.reason }]);
  return checked.addresses;
}

const FRAMING_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect', 'proxy-connection']);

/**
 * POSTs a delivery to the target, connecting to `addresses` when given rather than resolving the
 * name again (a name that re-resolved to a private address between check and connect would be a
 * DNS-rebinding hole). Redirects are not followed. Resolves with the status code.
 */
export function postToTarget(url: string, addresses: readonly ResolvedAddress[] | undefined, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
  const target = new URL(url);
  // fetch() used to drop these silently; node:http would send them and break the message framing.
  const own = Object.fromEntries(Object.entries(headers).filter(([k]) => !FRAMING_HEADERS.has(k.toLowerCase())));
  const mod = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      target,
      { method: 'POST', headers: { ...own, 'content-length': String(Buffer.byteLength(body)) }, signal: AbortSignal.timeout(timeoutMs), ...(addresses?.length ? { lookup: pinnedLookup(addresses) } : {}) },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
