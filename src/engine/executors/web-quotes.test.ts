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
  it('strips the reader\'s line markers (any heading level, indented) so a quote may run across them', () => {
    const page = 'Intro line.\n### Heading words\nMore.\n   > quoted words here\nEnd.\n- Item two';
    assert.ok(quoteOccurs(page, 'Intro line. Heading words'));
    assert.ok(quoteOccurs(page, 'More. quoted words here'));
    assert.ok(quoteOccurs(page, 'End. Item two'));
    assert.ok(!quoteOccurs('Intro line.\nHeading words', 'Intro line. ### Heading words'), 'a marker the page does not have is not ignored');
  });
  it('matches typographic apostrophes and ellipses, keeps words apart, and folds case only', () => {
    assert.ok(quoteOccurs('Acme\u2019s best anvils', "Acme's best anvils"));
    assert.ok(quoteOccurs('Wait\u2026 what happened', 'wait... what happened'));
    assert.ok(!quoteOccurs('Acme Corp was founded', 'AcmeCorp wasfounded'), 'spaces are collapsed, not removed');
    assert.ok(quoteOccurs('\uFB01nancial results', 'financial results'), 'compatibility forms (ligatures) are unfolded');
    assert.ok(!quoteOccurs('Die Stra\u00DFe ist lang', 'die strasse ist lang'), 'case folding is not spelling folding');
  });
  it('takes a quote from its surrounding quote marks and spaces; eight characters is long enough', () => {
    assert.ok(quoteOccurs(text, ' "founded in 1949" '));
    assert.ok(quoteOccurs(text, '" About us Acme"'));
    assert.ok(quoteOccurs(text, '""founded in 1949'));
    assert.ok(quoteOccurs(text, "founded in 1949''"));
    assert.ok(quoteOccurs(text, 'acme cor'), 'exactly eight characters');
    assert.ok(!quoteOccurs(text, 'acme co'));
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
