import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectWall } from './walls.ts';

const signals = { hasPasswordField: false, bodyTextLength: 300, h1: '' };
const check = (title: string, status = 200, text = 'Some short content about the company.') => detectWall({ status, html: `<title>${title}</title>`, title, text, signals })?.code;

describe('wall detection', () => {
  it('takes error codes in titles as errors, but not numbers that are part of a name', () => {
    assert.equal(check('404 - Page Not Found'), 'FETCH_ERROR_PAGE');
    assert.equal(check('Error 500'), 'FETCH_ERROR_PAGE');
    assert.equal(check('Oops, something went wrong'), 'FETCH_ERROR_PAGE');
    assert.equal(check('Company 404 - About'), undefined);
    assert.equal(check('Studio 500 | Home'), undefined);
  });
  it('markers of bot checks count on short pages, not inside long articles', () => {
    const bot = (text: string) => detectWall({ status: 200, html: '<div class="g-recaptcha"></div>', title: 'Contact', text, signals: { ...signals, bodyTextLength: text.length } })?.code;
    assert.equal(bot('Please confirm.'), 'FETCH_BOT_WALL');
    assert.equal(bot('x'.repeat(5_000)), undefined);
  });
  it('a password field on a short page is a login wall', () => {
    assert.equal(detectWall({ status: 200, html: '', title: 'Account', text: 'Welcome back', signals: { ...signals, hasPasswordField: true } })?.code, 'FETCH_LOGIN_WALL');
  });
});
