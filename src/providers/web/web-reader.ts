import { FetchError, parseFetchUrl, type FetchedResponse, type Fetcher } from './fetcher.ts';
import type { Politeness } from './politeness.ts';
import type { PageLink, ReadablePage } from './readable.ts';
import type { Robots } from './robots.ts';
import { detectWall } from './walls.ts';

/** A page as web_enrich reads it: readable text plus what identifies it. */
export type WebPage = {
  /** The URL asked for. */
  url: string;
  /** The URL that answered, after redirects. */
  finalUrl: string;
  title: string;
  description?: string;
  canonicalUrl?: string;
  contentType: string;
  text: string;
  links: PageLink[];
  fetchedAt: string;
};

/** Where read pages are kept between runs (the store's web_pages table in production). */
export type PageCache = {
  get(workspaceId: string, url: string, notBefore: Date): Promise<WebPage | undefined>;
  put(workspaceId: string, url: string, page: WebPage): Promise<void>;
};

export type WebReader = {
  /** The page's readable text, from the cache when fresh enough; rejects with FetchError. */
  read(workspaceId: string, url: string, options?: { signal?: AbortSignal }): Promise<WebPage & { cached: boolean }>;
};

const HTML = new Set(['text/html', 'application/xhtml+xml']);
const TEXT = new Set(['text/plain', 'text/markdown', 'text/x-markdown']);

/**
 * Fetching as a good citizen: cache first, then robots.txt, then the per-host politeness gate,
 * then the safe fetcher; the answer is classified (HTTP errors, content types, walls) and only
 * real content comes back. Concurrent reads of one URL in a workspace share one fetch.
 */
/**
 * `allowedNow`: whether a URL may be fetched under today's policy. A cached page counts only if
 * its URL (and the URL it was finally read from) would be allowed now: a page cached while
 * CELLWISE_FETCH_ALLOW_PRIVATE was on must not outlive the policy that fetched it.
 */
export function createWebReader(deps: { fetcher: Fetcher; robots: Robots; politeness: Politeness; cache?: PageCache; maxAgeMs: number; readHtml?: (html: string, url: string) => Promise<ReadablePage>; allowedNow?: (url: URL) => Promise<boolean> }): WebReader {
  // Inline by default; production passes the worker pool (readable-pool.ts) to keep parsing off the event loop.
  // readable.ts is loaded on first use: linkedom is hundreds of modules the server's start need not wait for.
  const parse = deps.readHtml ?? (async (html: string, url: string) => (await import('./readable.ts')).readHtml(html, url));
  const inflight = new Map<string, Promise<WebPage & { cached: boolean }>>();

  async function fetchPage(url: URL, signal?: AbortSignal): Promise<WebPage> {
    const verdict = await deps.robots.check(url);
    if (!verdict.allowed) throw new FetchError('FETCH_ROBOTS_DISALLOWED', verdict.reason, verdict.retryable);
    const res = await deps.politeness.run(url.host, () => deps.fetcher.fetch(url.href, signal ? { signal } : {}), { ...(verdict.crawlDelayMs ? { crawlDelayMs: verdict.crawlDelayMs } : {}), ...(signal ? { signal } : {}) });
    const type = res.contentType || sniff(res.body);
    if (HTML.has(type)) {
      const html = decode(res);
      const page = await parse(html, res.url);
      const wall = detectWall({ status: res.status, html, title: page.title, text: page.text, signals: page.signals });
      if (wall) throw new FetchError(wall.code, `${res.url}: ${wall.reason}`, wall.code === 'FETCH_BOT_WALL');
      if (res.status >= 400) throw httpError(res);
      return { url: url.href, finalUrl: res.url, title: page.title, ...(page.description ? { description: page.description } : {}), ...(page.canonicalUrl ? { canonicalUrl: page.canonicalUrl } : {}), contentType: type, text: page.text, links: page.links, fetchedAt: new Date().toISOString() };
    }
    if (res.status >= 400) throw httpError(res);
    if (TEXT.has(type)) {
      const { MAX_TEXT_CHARS } = await import('./readable.ts');
      const text = decode(res).slice(0, MAX_TEXT_CHARS);
      if (!text.trim()) throw new FetchError('FETCH_NO_CONTENT', `${res.url}: the document is empty`);
      return { url: url.href, finalUrl: res.url, title: new URL(res.url).pathname.split('/').pop() || res.url, contentType: type, text, links: [], fetchedAt: new Date().toISOString() };
    }
    if (type === 'application/pdf') {
      // The documents pipeline (PDF text and OCR) is not part of this build yet: say so rather than guess.
      throw new FetchError('FETCH_UNSUPPORTED_CONTENT', `${res.url} is a PDF; reading PDFs from the web needs the documents pipeline, which is not available in this build`);
    }
    throw new FetchError('FETCH_UNSUPPORTED_CONTENT', `${res.url} is ${type || 'of an unknown type'}; only HTML and plain text pages are read`);
  }

  return {
    async read(workspaceId, raw, options = {}) {
      const url = parseFetchUrl(raw);
      const key = `${workspaceId} ${url.href}`;
      let pending = inflight.get(key);
      if (!pending) {
        pending = (async () => {
          const hit = await deps.cache?.get(workspaceId, url.href, new Date(Date.now() - deps.maxAgeMs));
          // Otherwise the fresh fetch below fails as the policy says (FETCH_BLOCKED).
          const stillAllowed = async (page: WebPage) => !deps.allowedNow || ((await deps.allowedNow(url)) && (await deps.allowedNow(new URL(page.finalUrl))));
          if (hit && (await stillAllowed(hit))) return { ...hit, cached: true };
          const page = await fetchPage(url, options.signal);
          await deps.cache?.put(workspaceId, url.href, page);
          return { ...page, cached: false };
        })().finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
  };
}

function httpError(res: FetchedResponse): FetchError {
  const retryable = res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500;
  return new FetchError('FETCH_HTTP_ERROR', `${res.url} answered HTTP ${res.status}`, retryable);
}

function sniff(body: Buffer): string {
  const head = body.subarray(0, 512).toString('latin1').trimStart().toLowerCase();
  if (head.startsWith('%pdf-')) return 'application/pdf';
  if (head.startsWith('<!doctype html') || head.startsWith('<html') || head.startsWith('<head') || head.startsWith('<body')) return 'text/html';
  return '';
}

/** The body as text: the header's charset, else a `<meta charset>` in the first KB, else UTF-8. */
function decode(res: FetchedResponse): string {
  const declared = res.charset ?? /<meta[^>]+charset=["']?([\w-]+)/i.exec(res.body.subarray(0, 1024).toString('latin1'))?.[1];
  try {
    return new TextDecoder(declared ?? 'utf-8').decode(res.body);
  } catch {
    return new TextDecoder('utf-8').decode(res.body);
  }
}
