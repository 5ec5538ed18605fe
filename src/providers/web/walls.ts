import type { FetchErrorCode } from './fetcher.ts';

/**
 * Pages that answer but are not the content: bot challenges, login walls, error pages served with
 * 200, empty script-only shells. An answer read off one of these would be a guess, so they fail.
 * Markers only count on short pages: a long article may mention "captcha" or have a login box.
 */
const BOT_MARKERS = [
  'cf-browser-verification',
  'challenge-platform',
  '_cf_chl_opt',
  'cf-chl-',
  'g-recaptcha',
  'h-captcha',
  'hcaptcha.com',
  'px-captcha',
  'captcha-delivery.com',
  'datadome',
  'just a moment...',
  'checking your browser',
  'verify you are human',
  'verify that you are human',
  'are you a robot',
  'not a robot',
  'enable javascript and cookies to continue',
  'unusual traffic from your computer',
  'attention required!',
  'access denied',
  'request blocked',
];
const LOGIN_TITLE = /\b(sign[ -]?in|log[ -]?in|login|sign[ -]?up to continue|members only|subscribe to continue)\b/i;
// A bare number is an error code only at the start or after "error"/"HTTP": "Company 404" is a name.
const ERROR_TITLE = /^\s*(404|410|500|502|503)\b|\b(error|http|status)\s*(404|410|500|502|503)\b|\b(not found|page not found|page does not exist|no longer available|an error (has )?occurred|internal server error|something went wrong)\b/i;
const SHORT = 2_000;

export type Wall = { code: FetchErrorCode; reason: string };

export function detectWall(page: { status: number; html: string; title: string; text: string; signals: { hasPasswordField: boolean; bodyTextLength: number; h1: string } }): Wall | undefined {
  const short = page.text.length < SHORT || page.signals.bodyTextLength < SHORT;
  const head = page.html.slice(0, 100_000).toLowerCase();
  const marker = BOT_MARKERS.find((m) => head.includes(m));
  if (marker && (short || page.status === 403 || page.status === 429 || page.status === 503)) return { code: 'FETCH_BOT_WALL', reason: `the page is a bot check ("${marker}"), not content` };
  if (page.status >= 400) return undefined; // the caller reports the HTTP status
  if (short && (page.signals.hasPasswordField || LOGIN_TITLE.test(page.title) || LOGIN_TITLE.test(page.signals.h1))) return { code: 'FETCH_LOGIN_WALL', reason: 'the page asks to log in before showing content' };
  if (short && (ERROR_TITLE.test(page.title) || ERROR_TITLE.test(page.signals.h1))) return { code: 'FETCH_ERROR_PAGE', reason: `the page is an error page ("${(page.title || page.signals.h1).slice(0, 100)}") served with status ${page.status}` };
  if (!page.text.trim()) return { code: 'FETCH_NO_CONTENT', reason: 'the page has no readable text (it may need JavaScript)' };
  return undefined;
}
