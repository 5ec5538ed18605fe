import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { ApiError } from './errors.ts';
import { createLinkSigner } from './signed-links.ts';

const signer = createLinkSigner('secret-one', () => 'http://127.0.0.1:1234');

/** The parts of a link as the download route passes them to verify. */
function parts(url: string) {
  const u = new URL(url);
  const [, , kind, id] = u.pathname.split('/');
  return { kind: kind!, id: decodeURIComponent(id!), expires: u.searchParams.get('expires') ?? undefined, signature: u.searchParams.get('signature') ?? undefined };
}

function refused(fn: () => void, code: string): ApiError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ApiError, `expected ${code}, got ${String(err)}`);
  assert.equal(err.code, code);
  return err;
}

describe('signed links', () => {
  it('signs a link that verifies, under the base URL, with its expiry', () => {
    const before = Math.floor(Date.now() / 1000);
    const link = signer.sign('exports', 'exp_a/b', 60);
    const p = parts(link.downloadUrl);
    assert.ok(link.downloadUrl.startsWith('http://127.0.0.1:1234/downloads/exports/exp_a%2Fb?expires='), link.downloadUrl);
    assert.equal(p.id, 'exp_a/b');
    const expires = Number(p.expires);
    assert.ok(expires >= before + 60 && expires <= Math.floor(Date.now() / 1000) + 60, `${expires}`);
    assert.equal(link.expiresAt, new Date(expires * 1000).toISOString());
    assert.match(p.signature!, /^[A-Za-z0-9_-]{43}$/, 'an unpadded base64url SHA-256');
    signer.verify(p.kind, p.id, p.expires, p.signature);
  });

  it('refuses signatures of another length, another value, another secret, kind, id or expiry', () => {
    const p = parts(signer.sign('datasources', 'dsrc_1', 60).downloadUrl);
    const sig = p.signature!;
    for (const wrong of [sig.slice(0, -1), `${sig}A`, sig.slice(0, 20), '', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`]) {
      refused(() => signer.verify(p.kind, p.id, p.expires, wrong), 'ACCESS_DENIED');
    }
    refused(() => signer.verify(p.kind, p.id, p.expires, undefined), 'ACCESS_DENIED');
    refused(() => signer.verify('exports', p.id, p.expires, sig), 'ACCESS_DENIED');
    refused(() => signer.verify(p.kind, 'dsrc_2', p.expires, sig), 'ACCESS_DENIED');
    refused(() => signer.verify(p.kind, p.id, String(Number(p.expires) + 1), sig), 'ACCESS_DENIED');
    refused(() => createLinkSigner('secret-two', () => 'http://127.0.0.1:1').verify(p.kind, p.id, p.expires, sig), 'ACCESS_DENIED');
  });

  it('refuses an expiry that is not a whole number of seconds, even correctly signed', () => {
    // Signed with the server's secret over the text the verifier computes (NaN for no number), so
    // only the whole-seconds check stands between these and a link that never expires.
    const mac = (text: string) => createHmac('sha256', 'secret-one').update(`exports\nexp_1\n${text}`).digest('base64url');
    refused(() => signer.verify('exports', 'exp_1', 'soon', mac('NaN')), 'ACCESS_DENIED');
    refused(() => signer.verify('exports', 'exp_1', undefined, mac('NaN')), 'ACCESS_DENIED');
    refused(() => signer.verify('exports', 'exp_1', '99999999999.5', mac('99999999999.5')), 'ACCESS_DENIED');
    signer.verify('exports', 'exp_1', '99999999999', mac('99999999999'));
  });

  it('a link past its expiry is LINK_EXPIRED with the moment it expired; one second before, it is valid', () => {
    const old = parts(signer.sign('exports', 'exp_old', -10).downloadUrl);
    const err = refused(() => signer.verify(old.kind, old.id, old.expires, old.signature), 'LINK_EXPIRED');
    assert.deepEqual(err.details, { expiredAt: new Date(Number(old.expires) * 1000).toISOString() });
    const edge = parts(signer.sign('exports', 'exp_edge', 1).downloadUrl);
    signer.verify(edge.kind, edge.id, edge.expires, edge.signature);
  });
});
