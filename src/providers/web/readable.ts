import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';

/** The bits of the DOM this file walks (the project has no DOM lib types; linkedom provides the objects). */
type DomNode = { nodeType: number; nodeName: string; textContent: string | null; childNodes: ArrayLike<DomNode>; getAttribute?(name: string): string | null };
type DomDocument = DomNode & { title: string; body: DomNode | null; querySelector(sel: string): DomNode | null; querySelectorAll(sel: string): ArrayLike<DomNode> };

export type PageLink = { url: string; text: string };
export type ReadablePage = {
  title: string;
  description?: string;
  canonicalUrl?: string;
  /** Main content as Markdown-like text: headings with #, list items with -, paragraphs on their own lines. */
  text: string;
  /** Absolute http(s) links of the page (for choosing what to read next), at most 200. */
  links: PageLink[];
  /** Signals for wall detection, taken before Readability rewrites the document. */
  signals: { hasPasswordField: boolean; bodyTextLength: number; h1: string };
};

/** Readable text is capped: the LLM sees far less, and quotes are checked against what is kept. */
export const MAX_TEXT_CHARS = 100_000;
/**
 * Parsing runs on the event loop the whole server shares, and linkedom + Readability cost grows
 * with the document (measured here: a 1.5 MB page of 50,000 elements took 3 s to parse and 6.5 s in
 * Readability). So scripts, styles, SVG and comments are cut before parsing (most of a modern
 * page's bytes, none of its text), what remains is cut at MAX_PARSE_CHARS, and Readability gives up
 * past MAX_READABILITY_ELEMENTS elements, leaving the plain walk of the body.
 */
export const MAX_PARSE_CHARS = 500_000;
const MAX_READABILITY_ELEMENTS = 15_000;
const NOT_TEXT = /<script\b(?![^>]*application\/ld\+json)[^>]*>[\s\S]*?<\/script\s*>|<style\b[^>]*>[\s\S]*?<\/style\s*>|<svg\b[^>]*>[\s\S]*?<\/svg\s*>|<!--[\s\S]*?-->/gi;

/** The HTML worth parsing: without scripts (JSON-LD kept), styles, inline SVG and comments, capped. */
export function trimHtml(html: string): string {
  return html.replace(NOT_TEXT, '').slice(0, MAX_PARSE_CHARS);
}

const BLOCKS = new Set(['address', 'article', 'aside', 'blockquote', 'dd', 'details', 'div', 'dl', 'dt', 'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre', 'section', 'summary', 'table', 'tbody', 'thead', 'tfoot', 'tr', 'td', 'th', 'ul']);
const SKIP = new Set(['script', 'style', 'noscript', 'template', 'svg', 'iframe', 'object', 'head']);

/** Renders a DOM subtree as Markdown-like text (a Readability serializer, and the fallback for pages it cannot read). */
export function domText(root: DomNode): string {
  const lines: string[] = [];
  let inline = '';
  const flush = (prefix: string) => {
    const t = inline.replace(/\s+/g, ' ').trim();
    if (t) lines.push(prefix + t);
    inline = '';
  };
  const walk = (node: DomNode, prefix: string) => {
    const children = node.childNodes;
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      if (child.nodeType === 3) {
        inline += child.textContent ?? '';
        continue;
      }
      if (child.nodeType !== 1) continue;
      const tag = child.nodeName.toLowerCase();
      if (SKIP.has(tag)) continue;
      if (tag === 'br') {
        flush(prefix);
        continue;
      }
      if (tag === 'pre') {
        flush(prefix);
        const t = (child.textContent ?? '').trim();
        if (t) lines.push(t);
        continue;
      }
      if (!BLOCKS.has(tag)) {
        walk(child, prefix);
        continue;
      }
      if (tag === 'td' || tag === 'th') {
        inline += ' | ';
        walk(child, prefix);
        continue;
      }
      flush(prefix);
      const own = /^h[1-6]$/.test(tag) ? `${'#'.repeat(Number(tag[1]))} ` : tag === 'li' ? '- ' : tag === 'blockquote' ? '> ' : prefix;
      walk(child, own);
      flush(own);
    }
  };
  walk(root, '');
  return lines.join('\n');
}

/** Title, description, canonical URL, links and the main content of an HTML page. */
export function readHtml(html: string, pageUrl: string): ReadablePage {
  const { document } = parseHTML(trimHtml(html)) as unknown as { document: DomDocument };
  const meta = (sel: string) => document.querySelector(sel)?.getAttribute?.('content')?.trim() || undefined;
  const absolute = (href: string | null | undefined) => {
    if (!href) return undefined;
    try {
      const u = new URL(href, pageUrl);
      u.hash = '';
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
    } catch {
      return undefined;
    }
  };
  const title = (meta('meta[property="og:title"]') ?? document.title ?? '').replace(/\s+/g, ' ').trim();
  const description = meta('meta[name="description"]') ?? meta('meta[property="og:description"]');
  const canonicalUrl = absolute(document.querySelector('link[rel="canonical"]')?.getAttribute?.('href'));
  const links: PageLink[] = [];
  const seen = new Set<string>();
  const anchors = document.querySelectorAll('a[href]');
  for (let i = 0; i < anchors.length && links.length < 200; i++) {
    const a = anchors[i]!;
    const url = absolute(a.getAttribute?.('href'));
    if (!url || seen.has(url)) continue;
    seen.add(url);
    links.push({ url, text: (a.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 200) });
  }
  const signals = {
    hasPasswordField: document.querySelector('input[type="password" i]') !== null || document.querySelector('input[type=password]') !== null,
    bodyTextLength: (document.body?.textContent ?? '').replace(/\s+/g, ' ').trim().length,
    h1: (document.querySelector('h1')?.textContent ?? '').replace(/\s+/g, ' ').trim(),
  };
  const fallback = document.body ? domText(document.body) : '';
  let text = '';
  try {
    const article = new Readability(document as never, { maxElemsToParse: MAX_READABILITY_ELEMENTS, serializer: (node) => domText(node as unknown as DomNode) }).parse();
    text = article?.content ?? '';
  } catch {
    // Readability gives up on very large or malformed documents: the whole body's text is the honest fallback.
  }
  // Readability keeps the main article; a page without one (a short homepage) reads better whole.
  if (text.length < 200 && fallback.length > text.length) text = fallback;
  return { title, ...(description ? { description } : {}), ...(canonicalUrl ? { canonicalUrl } : {}), text: text.slice(0, MAX_TEXT_CHARS), links, signals };
}
