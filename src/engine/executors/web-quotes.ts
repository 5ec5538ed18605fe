/**
 * Quote checking for web_enrich: a quote counts only when it occurs in the fetched text of the page
 * it cites. The comparison ignores whitespace, Markdown line markers the reader added (#, -, >),
 * letter case and typographic variants of quotes and dashes (models straighten them), nothing else.
 */
export const MIN_QUOTE_CHARS = 8;

export function normalizeForQuote(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/^[ \t]*(#{1,6}|-|>)[ \t]+/gm, '')
    .replace(/[\u2018\u2019\u201A\u201B\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\u2026/g, '...')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

/** Whether `quote` (at least MIN_QUOTE_CHARS after normalising) occurs in `text`. */
export function quoteOccurs(text: string, quote: string): boolean {
  const q = normalizeForQuote(quote).replace(/^["']+|["']+$/g, '').trim();
  if (q.length < MIN_QUOTE_CHARS) return false;
  return normalizeForQuote(text).includes(q);
}
