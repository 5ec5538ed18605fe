/**
 * The pure parts of doc_extraction: cutting a document into LLM-sized chunks, choosing chunks when
 * a document is too long to send whole, and checking that a cited quote is really on its page.
 */

export type Page = { page: number; text: string };
/** Consecutive pages (a page longer than a chunk is split into parts, each keeping its page number). */
export type Chunk = { parts: Page[]; chars: number };

/** Pages grouped in order into chunks of at most `maxChars` characters of text. Empty pages are left out. */
export function chunkPages(pages: readonly Page[], maxChars: number): Chunk[] {
  const chunks: Chunk[] = [];
  let current: Chunk = { parts: [], chars: 0 };
  const push = (part: Page) => {
    if (current.parts.length && current.chars + part.text.length > maxChars) {
      chunks.push(current);
      current = { parts: [], chars: 0 };
    }
    current.parts.push(part);
    current.chars += part.text.length;
  };
  for (const p of pages) {
    const text = p.text.trim();
    if (!text) continue;
    for (let i = 0; i < text.length; i += maxChars) push({ page: p.page, text: text.slice(i, i + maxChars) });
  }
  if (current.parts.length) chunks.push(current);
  return chunks;
}

const STOP_WORDS = new Set(['what', 'which', 'when', 'where', 'from', 'with', 'this', 'that', 'document', 'extract', 'value', 'return', 'there', 'their', 'about', 'field', 'give', 'find', 'does', 'into', 'only', 'page', 'pages']);

/** Lower-case words of four letters or more that say what a field is about. */
export function keywords(texts: readonly string[]): string[] {
  const words = texts.join(' ').toLowerCase().match(/[\p{L}\p{N}]{4,}/gu) ?? [];
  return [...new Set(words.filter((w) => !STOP_WORDS.has(w)))];
}

/**
 * At most `max` chunks, in document order: the first chunk always (titles, parties and dates tend to
 * be there), then those where the fields' keywords occur most often. The caller reports which pages
 * were left out, so a long document is never cut short without the cell saying so.
 */
export function selectChunks(chunks: readonly Chunk[], terms: readonly string[], max: number): Chunk[] {
  if (chunks.length <= max) return [...chunks];
  const score = (c: Chunk) => {
    const text = c.parts.map((p) => p.text).join('\n').toLowerCase();
    let n = 0;
    for (const t of terms) for (let i = text.indexOf(t); i >= 0; i = text.indexOf(t, i + t.length)) n++;
    return n;
  };
  const ranked = chunks.slice(1).map((c, i) => ({ c, i: i + 1, s: score(c) })).sort((a, b) => b.s - a.s || a.i - b.i);
  const chosen = new Set([0, ...ranked.slice(0, max - 1).map((r) => r.i)]);
  return chunks.filter((_, i) => chosen.has(i));
}

/** Compact page list for metadata: [1,2,3,7,9,10] -> "1-3, 7, 9-10". */
export function pageRanges(pages: readonly number[]): string {
  const sorted = [...new Set(pages)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

/** Text compared without any whitespace and in Unicode compatibility form (ligatures, full-width digits). */
export function squash(text: string): string {
  return text.normalize('NFKC').replace(/\s+/gu, '');
}

/**
 * The page a quote is really on: the cited page when the quote occurs there (whitespace-insensitive),
 * else the one other page holding it, else undefined (the quote cannot be verified). `pages` maps
 * each page number to its text already passed through `squash`.
 */
export function locateQuote(quote: string, cited: number, pages: ReadonlyMap<number, string>): number | undefined {
  const needle = squash(quote);
  if (!needle) return undefined;
  if (pages.get(cited)?.includes(needle)) return cited;
  const found = [...pages].filter(([, text]) => text.includes(needle)).map(([page]) => page);
  return found.length === 1 ? found[0] : undefined;
}
