import { SearchError, type SearchProvider } from '../../providers/search/search.ts';
import { FetchError } from '../../providers/web/fetcher.ts';
import type { WebPage, WebReader } from '../../providers/web/web-reader.ts';
import { renderTemplate } from '../template.ts';
import { readsRow } from '../dependencies.ts';
import { CellError, rowContext, valueText, type ExecutionContext, type Executor, type Source } from '../executor.ts';
import { quoteOccurs } from './web-quotes.ts';

/** Characters of page text the model sees in all, shared between the pages read. */
const TEXT_BUDGET = 24_000;
/** Columns used as the row's URL when urlColumnId is not set (case-insensitive names). */
const URL_COLUMN_NAMES = ['url', 'website', 'web site', 'homepage', 'domain', 'site', 'link'];
/** Links that are not pages to read. */
const NOT_PAGES = /\.(pdf|jpe?g|png|gif|webp|svg|zip|gz|mp[34]|avi|mov|docx?|xlsx?|pptx?|css|js|xml|rss)$/i;
const USEFUL_PAGES = /\b(about|company|team|leadership|management|contact|imprint|impressum|who-we-are|people|careers|products?|services?|pricing|hours|locations?)\b/i;
const STOP = new Set(['what', 'which', 'does', 'this', 'that', 'with', 'from', 'have', 'their', 'there', 'they', 'about', 'company', 'when', 'where', 'whom', 'your', 'into', 'than', 'then', 'them', 'were', 'will', 'would', 'should', 'could']);

const ANSWER_SCHEMA = {
  type: 'object',
  properties: {
    found: { type: 'boolean' },
    answer: { type: ['string', 'null'] },
    quotes: { type: 'array', items: { type: 'object', properties: { page: { type: 'integer', minimum: 1 }, quote: { type: 'string' } }, required: ['page', 'quote'], additionalProperties: false } },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    reason: { type: 'string' },
  },
  required: ['found', 'answer', 'quotes', 'confidence', 'reason'],
  additionalProperties: false,
};
type Answer = { found?: boolean; answer?: string | null; quotes?: { page?: number; quote?: string }[]; confidence?: number; reason?: string };

type ReadPage = WebPage & { cached: boolean };
type Skipped = { url: string; code: string; message: string };

export type WebEnrichDeps = { reader: WebReader; search?: SearchProvider };

/**
 * web_enrich: pages from the row's URL (urlColumnId, or a column named url/website/domain ...) and
 * the same site's most relevant links, and/or from a web search (`query` rendered from the row),
 * up to maxPages; the model answers with quotes, and only quotes found in their page's fetched text
 * become sources. Each dropped quote lowers the confidence: an answer with no verified quote keeps
 * at most 40% of the model's stated confidence. "Not found" is value null with a reason, and a
 * confidence: the model's stated one (`self_reported`) when it read pages, else 0 (`nothing_read`).
 */
export function createWebEnrich(deps: WebEnrichDeps): Executor {
  return {
    async execute(ctx: ExecutionContext) {
      const meta = ctx.column.metadata;
      const render = (t: string) => renderTemplate(t, (ref) => (ref in ctx.row ? valueText(ctx.row[ref]) : undefined));
      const row = readsRow(ctx.column) ? rowContext(ctx) : '';
      const asked = render(String(meta.prompt ?? ctx.column.name)).trim();
      const question = row ? `${asked}\n\nRow:\n${row}` : asked;
      const maxPages = typeof meta.maxPages === 'number' ? meta.maxPages : 3;
      const query = typeof meta.query === 'string' ? render(meta.query).replace(/\s+/g, ' ').trim() : '';
      const urlColumn = typeof meta.urlColumnId === 'string' ? ctx.columns.find((c) => c.id === meta.urlColumnId || c.name === meta.urlColumnId) : ctx.columns.find((c) => c.id !== ctx.column.id && URL_COLUMN_NAMES.includes(c.name.trim().toLowerCase()));
      if (!urlColumn && !query) throw new CellError('WEB_NO_INPUT', 'web_enrich needs urlColumnId (or a column named URL, Website or Domain) or a search query');
      const start = urlColumn ? toUrl(valueText(ctx.row[urlColumn.id])) : undefined;
      if (!start && !query) return { value: null, metadata: { reason: `The row has no URL in column ${urlColumn!.name}`, sources: [], pagesRead: [], ...NOTHING_READ } };

      if (ctx.dryRun) return estimateOnly(ctx, question, maxPages, start ?? query);

      const read = (url: string) => deps.reader.read(ctx.workspaceId, url, { signal: ctx.signal });
      const pages: ReadPage[] = [];
      const skipped: Skipped[] = [];
      let retryable = false;
      const readAll = async (urls: string[]) => {
        const results = await Promise.allSettled(urls.map(read));
        results.forEach((r, i) => {
          if (r.status === 'fulfilled') pages.push(r.value);
          else {
            skipped.push({ url: urls[i]!, code: r.reason instanceof FetchError ? r.reason.code : 'FETCH_FAILED', message: r.reason instanceof Error ? r.reason.message : String(r.reason) });
            retryable ||= r.reason instanceof FetchError && r.reason.retryable;
          }
        });
      };
      const seen = new Set<string>();
      if (start) {
        // The row's own URL failing fails the cell, with the fetcher's code and reason (FETCH_BLOCKED ...).
        const first = await read(start).catch((err: unknown) => Promise.reject(toCellError(err)));
        pages.push(first);
        [start, first.url, first.finalUrl].forEach((u) => seen.add(u));
        const more = chooseLinks(first, question, maxPages - 1, seen);
        more.forEach((u) => seen.add(u));
        if (more.length) await readAll(more);
      }
      if (query && pages.length < maxPages) {
        if (!deps.search) throw new CellError('SEARCH_NOT_CONFIGURED', 'This column has a search query but no search engine is configured (set CELLWISE_SEARCH_URL)');
        const results = await deps.search.search(query, { limit: Math.max(5, maxPages * 2), signal: ctx.signal }).catch((err: unknown) => Promise.reject(toCellError(err)));
        // Candidates in rank order; a failed one makes room for the next.
        for (const r of results) {
          if (pages.length >= maxPages) break;
          if (seen.has(r.url)) continue;
          seen.add(r.url);
          await readAll([r.url]);
        }
      }
      const pagesRead = pages.map((p) => ({ url: p.finalUrl, title: p.title, cached: p.cached }));
      const context = { pagesRead, ...(query ? { query } : {}), ...(skipped.length ? { skipped } : {}) };
      if (!pages.length) {
        // Only a search can leave nothing read (the row's URL either reads or fails the cell).
        if (skipped.length) throw new CellError(skipped[0]!.code, `No page found by the search could be read: ${skipped.map((s) => s.message).join('; ').slice(0, 1000)}`, retryable);
        return { value: null, metadata: { reason: `The search for "${query}" found no pages`, sources: [], ...NOTHING_READ, ...context } };
      }

      const res = await ask(ctx, question, pages);
      const json = res.json as Answer | undefined;
      if (!json || typeof json !== 'object') throw new CellError('LLM_INVALID_OUTPUT', `The model did not answer in the expected JSON: ${res.text.slice(0, 200)}`);
      const answer = typeof json.answer === 'string' ? json.answer.trim() : '';
      const stated = typeof json.confidence === 'number' && Number.isFinite(json.confidence) ? Math.min(1, Math.max(0, json.confidence)) : undefined;
      if (json.found === false || !answer) {
        // Absence cannot be quoted, so nothing verifies it: the model's own rating that the pages
        // read do not answer the question (0 when it gave none).
        return { value: null, metadata: { reason: json.reason?.trim() || 'The pages read do not answer the question', sources: [], confidence: stated ?? 0, confidenceSource: 'self_reported', ...context } };
      }

      const sources: Source[] = [];
      const dropped: { url?: string; quote: string }[] = [];
      const quotes = Array.isArray(json.quotes) ? json.quotes : [];
      for (const q of quotes) {
        const page = typeof q.page === 'number' ? pages[q.page - 1] : undefined;
        const quote = String(q.quote ?? '').trim();
        if (page && quoteOccurs(page.text, quote)) {
          if (!sources.some((s) => s.url === page.finalUrl && s.quote === quote)) sources.push({ type: 'web', url: page.finalUrl, ...(page.title ? { title: page.title } : {}), quote });
        } else dropped.push({ ...(page ? { url: page.finalUrl } : {}), quote: quote.slice(0, 500) });
      }
      const verifiedShare = quotes.length ? (quotes.length - dropped.length) / quotes.length : 0;
      const confidence = Math.round((stated ?? 0.7) * (0.4 + 0.6 * verifiedShare) * 1000) / 1000;
      return { value: answer, metadata: { confidence, confidenceSource: 'verified_quotes', sources, ...(dropped.length ? { droppedQuotes: dropped } : {}), ...context } };
    },
  };
}

/**
 * A null with nothing read behind it (the row has no URL, the search found no page): no evidence
 * either way, so confidence 0 (any review threshold flags it) under a source that says why.
 */
const NOTHING_READ = { confidence: 0, confidenceSource: 'nothing_read' } as const;

/** The model's request: the question and the numbered pages, sharing TEXT_BUDGET characters. */
function ask(ctx: ExecutionContext, question: string, pages: readonly { title: string; finalUrl: string; text: string }[]) {
  const perPage = Math.max(2_000, Math.floor(TEXT_BUDGET / pages.length));
  const material = pages.map((p, i) => `[${i + 1}] ${p.title || p.finalUrl}\nURL: ${p.finalUrl}\n---\n${p.text.slice(0, perPage)}`).join('\n\n');
  return ctx.llm.complete(String(ctx.column.metadata.model ?? ctx.defaultModel), {
    messages: [
      {
        role: 'system',
        content:
          'You answer a question about one spreadsheet row using only the numbered web pages given. Support the answer with quotes copied word for word from the page text, each with its page number. ' +
          'If the pages do not answer the question, set found to false, answer to null, and say in reason what is missing. Never guess. The answer is the value of one spreadsheet cell: short, no preamble. ' +
          'confidence (0 to 1) is how sure you are that your answer is right or, with found false, that the pages really do not answer the question.',
      },
      { role: 'user', content: `Question: ${question}\n\nPages:\n\n${material}` },
    ],
    jsonSchema: { name: 'web_answer', schema: ANSWER_SCHEMA },
    temperature: 0,
  });
}

/**
 * The estimate's stand-in: no fetch or search (an estimate runs nothing), one request shaped like
 * the real one over maxPages pages of ESTIMATED_PAGE_CHARS each (typical readable text of a page;
 * the real prompt is capped at TEXT_BUDGET), so tokens and cost come out about right.
 */
const ESTIMATED_PAGE_CHARS = 6_000;
/** Prices the call over stand-in pages named after the row's URL or query, so each row is its own request (the estimate counts a request repeated within a task once). */
async function estimateOnly(ctx: ExecutionContext, question: string, maxPages: number, source: string) {
  const stand = Array.from({ length: maxPages }, (_, i) => ({ title: `page ${i + 1}`, finalUrl: `https://example.com/${encodeURIComponent(source)}/${i + 1}`, text: 'x'.repeat(Math.min(ESTIMATED_PAGE_CHARS, Math.floor(TEXT_BUDGET / maxPages))) }));
  await ask(ctx, question, stand);
  return { value: null };
}

/** A row value as a URL: http(s) URLs as they are, bare domains as https, other schemes kept (and refused by the fetcher). */
export function toUrl(value: string): string | undefined {
  const v = value.trim();
  if (!v) return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || /^(file|gopher|data|javascript|mailto|dict|ldap|jar|blob|tel|ftp|sftp|smb|telnet|ws|wss|view-source):/i.test(v)) return v;
  return `https://${v.replace(/^\/+/, '')}`;
}

/** The same site's links most related to the question (words in link text or path), then the usual useful pages. */
function chooseLinks(page: WebPage, question: string, n: number, seen: Set<string>): string[] {
  if (n <= 0) return [];
  const site = (u: string) => new URL(u).hostname.replace(/^www\./, '');
  const home = site(page.finalUrl);
  const words = [...new Set(question.toLowerCase().match(/[\p{L}\p{N}]{4,}/gu) ?? [])].filter((w) => !STOP.has(w));
  const scored = page.links
    .filter((l) => !seen.has(l.url) && site(l.url) === home && !NOT_PAGES.test(new URL(l.url).pathname))
    .map((l) => {
      const hay = `${l.text} ${safeDecode(new URL(l.url).pathname)}`.toLowerCase();
      const score = words.filter((w) => hay.includes(w)).length + (USEFUL_PAGES.test(hay) ? 0.5 : 0);
      return { url: l.url, score };
    })
    .filter((l) => l.score > 0);
  scored.sort((a, b) => b.score - a.score);
  return scored.slice(0, n).map((l) => l.url);
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function toCellError(err: unknown): unknown {
  if (err instanceof FetchError || err instanceof SearchError) return new CellError(err.code, err.message, err.retryable);
  return err;
}
