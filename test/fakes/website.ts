import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * A small real website for web fetching tests: pages, redirects, a robots.txt, a bot wall, a login
 * wall, a soft 404, a huge page, a slow page, non-HTML files, and numbered pages for benchmarks.
 * Every request is recorded so tests can assert that a refused URL was never requested.
 */
export type FakeWebsite = {
  url: string;
  port: number;
  /** Paths requested, in order (with query). */
  readonly requests: string[];
  /** Arrival times (Date.now()) of requests, in order. */
  readonly times: number[];
  close(): Promise<void>;
};

export const COMPANY = {
  about: 'Acme Corp was founded in 1949 in Phoenix, Arizona. Acme Corp sells anvils, rockets and giant magnets to discerning coyotes.',
  ceo: 'The chief executive officer of Acme Corp is Wile E. Coyote, who has led the company since 1952.',
  hours: 'The Acme showroom is closed on Sundays and open Monday to Saturday from 9 to 17.',
};

const page = (title: string, body: string, head = '') => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>${head}</head><body>${body}</body></html>`;
const filler = (n: number) => Array.from({ length: n }, (_, i) => `<p>Paragraph ${i + 1} of background material about the history of desert manufacturing, shipping routes, and customer service practices across the south-west.</p>`).join('');

/** An article-sized generated page: company `i` and its CEO, for benchmarks and many-row tests. */
export function companyPage(i: number): string {
  return page(
    `Company ${i} - About`,
    `<nav><a href="/">Home</a> <a href="/c/${i}/team">Team</a></nav><article><h1>Company ${i}</h1><p>Company ${i} makes widgets of type ${i % 7} for industrial customers.</p><p>The chief executive officer of Company ${i} is Person ${i}.</p>${filler(12)}</article><footer>Copyright</footer>`,
    `<meta name="description" content="Company ${i} makes widgets"><link rel="canonical" href="/c/${i}">`,
  );
}

export async function startFakeWebsite(options: { slowMs?: number; hugeBytes?: number } = {}): Promise<FakeWebsite> {
  const requests: string[] = [];
  const times: number[] = [];
  const slowMs = options.slowMs ?? 10_000;
  const hugeBytes = options.hugeBytes ?? 20_000_000;
  const html = (res: ServerResponse, body: string, status = 200, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
    res.end(body);
  };
  const server = createServer((req, res) => {
    const full = req.url ?? '/';
    requests.push(full);
    times.push(Date.now());
    const url = new URL(full, 'http://site');
    const p = url.pathname;
    const company = /^\/c\/(\d+)$/.exec(p);
    if (company) return html(res, companyPage(Number(company[1])));
    const team = /^\/c\/(\d+)\/team$/.exec(p);
    if (team) return html(res, page(`Company ${team[1]} - Team`, `<article><h1>Team</h1><p>Person ${team[1]} leads a team of ${Number(team[1]) % 50} engineers.</p>${filler(4)}</article>`));
    switch (p) {
      case '/robots.txt':
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end('User-agent: *\nDisallow: /private\n\nUser-agent: cellwise\nDisallow: /private\nDisallow: /no-cellwise\n');
      case '/':
        return html(
          res,
          page(
            'Acme Corp',
            `<nav><a href="/about">About us</a> <a href="/team">Our team</a> <a href="/hours">Opening hours</a> <a href="/brochure.pdf">Brochure</a> <a href="https://elsewhere.example/">Partner</a></nav><h1>Acme Corp</h1><p>Welcome to Acme Corp, supplier of fine desert equipment.</p>`,
            '<meta name="description" content="Acme Corp: desert equipment"><link rel="canonical" href="/">',
          ),
        );
      case '/about':
        return html(res, page('About Acme Corp', `<article><h1>About us</h1><p>${COMPANY.about}</p>${filler(6)}</article>`));
      case '/team':
        return html(res, page('Our team', `<article><h1>Leadership</h1><p>${COMPANY.ceo}</p><ul><li>Road Runner, head of logistics</li></ul>${filler(4)}</article>`));
      case '/hours':
        return html(res, page('Opening hours', `<article><h1>Opening hours</h1><p>${COMPANY.hours}</p>${filler(3)}</article>`));
      case '/redirect':
        res.writeHead(302, { location: '/about' });
        return res.end();
      case '/go':
        res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to') ?? '/' });
        return res.end();
      case '/loop':
        res.writeHead(301, { location: '/loop' });
        return res.end();
      case '/private/secret':
      case '/no-cellwise':
        return html(res, page('Secret', '<p>Not for robots.</p>'));
      case '/botwall':
        return html(res, page('Just a moment...', '<div id="cf-browser-verification"><p>Checking your browser before accessing the site.</p></div><script src="/cdn-cgi/challenge-platform/x.js"></script>'), 503);
      case '/captcha':
        return html(res, page('Security check', '<h1>Are you a robot?</h1><div class="g-recaptcha" data-sitekey="x"></div>'));
      case '/login':
        return html(res, page('Sign in', '<h1>Sign in to continue</h1><form><input name="user"><input type="password" name="pw"><button>Log in</button></form>'));
      case '/soft404':
        return html(res, page('Page not found', '<h1>Oops! Page not found</h1><p>The page you are looking for does not exist.</p>'));
      case '/empty':
        return html(res, page('App', '<div id="root"></div><script>render()</script>'));
      case '/huge': {
        res.writeHead(200, { 'content-type': 'text/html' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        let sent = 0;
        const write = () => {
          while (sent < hugeBytes) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', write);
          }
          res.end();
        };
        res.on('error', () => {});
        return write();
      }
      case '/bomb': {
        // 20 MB of zeros gzipped to ~20 KB, with no content-length: caught only after decompression.
        res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
        return res.end(gzipSync(Buffer.alloc(hugeBytes, 0)));
      }
      case '/gzip':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip' });
        return res.end(gzipSync(page('Compressed', `<article><p>${COMPANY.about}</p>${filler(3)}</article>`)));
      case '/latin1':
        res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1' });
        return res.end(Buffer.from(page('Caf\u00e9', '<p>Caf\u00e9 cr\u00e8me served all day long at the Acme cafeteria.</p>'), 'latin1'));
      case '/slow': {
        const timer = setTimeout(() => html(res, page('Slow', '<p>Finally.</p>')), slowMs);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case '/brochure.pdf':
        res.writeHead(200, { 'content-type': 'application/pdf' });
        return res.end('%PDF-1.4\n%fake\n');
      case '/logo.png':
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      case '/notes.txt':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end(`Notes\n\n${COMPANY.hours}\n`);
      case '/error':
        return html(res, page('Server error', '<p>Something broke.</p>'), 500);
      default:
        return html(res, page('Not found', '<h1>Not found</h1>'), 404);
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    times,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
