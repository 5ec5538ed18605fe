import { InvalidParametersError } from '../../http/errors.ts';
import { resolvePublic, urlHost } from '../../providers/web/address-policy.ts';

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
  const checked = await resolvePublic(urlHost(parsed));
  if (!checked.ok) throw new InvalidParametersError([{ path, message: checked.resolved ? `${checked.reason}: not a public address` : checked.reason }]);
}
