import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.ts';

/**
 * Links that need no API key: an HMAC over (kind, id, expiry) with a server secret. A link past
 * its expiry is LINK_EXPIRED; a link whose signature does not match is ACCESS_DENIED.
 */
export function createLinkSigner(secret: string, baseUrl: () => string) {
  const mac = (kind: string, id: string, expires: number) => createHmac('sha256', secret).update(`${kind}\n${id}\n${expires}`).digest('base64url');
  return {
    sign(kind: string, id: string, expiresInSeconds: number) {
      const expires = Math.floor(Date.now() / 1000) + expiresInSeconds;
      const url = `${baseUrl()}/downloads/${kind}/${encodeURIComponent(id)}?expires=${expires}&signature=${mac(kind, id, expires)}`;
      return { downloadUrl: url, expiresAt: new Date(expires * 1000).toISOString() };
    },
    verify(kind: string, id: string, expires: string | undefined, signature: string | undefined): void {
      const exp = Number(expires);
      const expected = Buffer.from(mac(kind, id, exp));
      const given = Buffer.from(signature ?? '');
      if (!Number.isInteger(exp) || given.length !== expected.length || !timingSafeEqual(given, expected)) throw new ApiError('ACCESS_DENIED', 'Invalid download link signature');
      if (exp * 1000 < Date.now()) throw new ApiError('LINK_EXPIRED', 'This download link has expired', { expiredAt: new Date(exp * 1000).toISOString() });
    },
  };
}
export type LinkSigner = ReturnType<typeof createLinkSigner>;
