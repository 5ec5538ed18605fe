import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quoteOccurs } from './web-quotes.ts';
import { toUrl } from './web-enrich.ts';

const text = '# About us\nAcme Corp was founded in 1949 in Phoenix,\n   Arizona.\n- Anvils \u2014 the \u201cbest\u201d in town';

describe('web quotes', () => {
  it('finds quotes whatever the whitespace, case, line markers and typographic quotes', () => {
    assert.ok(quoteOccurs(text, 'Acme Corp was founded in 1949 in Phoenix, Arizona.'));
    assert.ok(quoteOccurs(text, 'acme corp was   founded'));
    assert.ok(quoteOccurs(text, 'About us Acme Corp'));
    assert.ok(quoteOccurs(text, 'Anvils - the "best" in town'));
    assert.ok(quoteOccurs(text, '"founded in 1949"'));
  });
  it('refuses quotes that are not there or too short to mean anything', () => {
    assert.ok(!quoteOccurs(text, 'Acme Corp was founded in 1950'));
    assert.ok(!quoteOccurs(text, 'Acme'));
    assert.ok(!quoteOccurs(text, ''));
  });
  it('turns row values into URLs: bare domains get https, other schemes are kept for the fetcher to refuse', () => {
    assert.equal(toUrl(' acme.example '), 'https://acme.example');
    assert.equal(toUrl('acme.example:8080/x'), 'https://acme.example:8080/x');
    assert.equal(toUrl('http://acme.example/a'), 'http://acme.example/a');
    assert.equal(toUrl('file:///etc/passwd'), 'file:///etc/passwd');
    assert.equal(toUrl('gopher:x'), 'gopher:x');
    assert.equal(toUrl(''), undefined);
  });
});
