import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Context, Hono } from 'hono';
import { webSourceHash } from './web-source-hash.ts';

/** Paths the web app never answers: the API and the server's own pages keep their 404s. */
const SERVER_PATHS = /^\/(api|docs|health|downloads|metrics|ready|mcp)(\/|$)/;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/**
 * The app's headers. Scripts only from this origin (no inline script, no eval), no framing.
 * Styles allow inline attributes because the grid library and React set element styles.
 */
export const WEB_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Staleness is re-checked at most this often (hashing the sources reads every file). */
const CHECK_MS = 2000;

function advicePage(title: string, body: string) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>cellwise: ${title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5">
<h1>${title}</h1>${body}
<p>The API is running: <a href="/docs">/docs</a> describes it.</p></body></html>`;
}

/**
 * Serves the browser app (web/dist) at `/`: hashed assets with long caching, index.html for every
 * other GET path (client-side routes), and a page saying what to run when the build is missing or
 * older than its sources, never a blank page. Registered after every API route.
 */
export function registerWebApp(app: Hono, { webDir }: { webDir: string }) {
  const dist = path.join(webDir, 'dist');
  let checked: { at: number; problem: string | undefined } = { at: 0, problem: undefined };

  async function buildProblem(): Promise<string | undefined> {
    if (Date.now() - checked.at < CHECK_MS) return checked.problem;
    let problem: string | undefined;
    try {
      await stat(path.join(dist, 'index.html'));
      const info = JSON.parse(await readFile(path.join(dist, 'build-info.json'), 'utf8')) as { sourceHash?: string };
      const current = webSourceHash(webDir);
      if (current && info.sourceHash !== current) problem = 'stale';
    } catch {
      problem = 'missing';
    }
    checked = { at: Date.now(), problem };
    return problem;
  }

  const send = (c: Context, body: string | Uint8Array, status: 200 | 503, headers: Record<string, string>) => {
    for (const [k, v] of Object.entries({ ...WEB_SECURITY_HEADERS, ...headers })) c.header(k, v);
    return c.body(body as never, status);
  };

  app.get('*', async (c) => {
    const urlPath = c.req.path;
    if (SERVER_PATHS.test(urlPath)) return c.notFound();
    if (urlPath.startsWith('/assets/') || /^\/[\w.-]+\.(svg|png|ico)$/.test(urlPath)) {
      const file = path.join(dist, path.normalize(urlPath).replace(/^(\.\.[/\\])+/, ''));
      if (!file.startsWith(dist + path.sep)) return c.notFound();
      try {
        const body = await readFile(file);
        return send(c, body, 200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': urlPath.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'public, max-age=3600' });
      } catch {
        return c.notFound();
      }
    }
    const problem = await buildProblem();
    if (problem) {
      const what = problem === 'missing' ? 'The web app has not been built' : 'The web app build is older than its sources';
      return send(c, advicePage(what, `<p>Run <code>npm run build:web</code> (or <code>npm ci</code>, which builds it) in the cellwise folder, then reload this page.</p>`), 503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    }
    return send(c, await readFile(path.join(dist, 'index.html')), 200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
  });
}
