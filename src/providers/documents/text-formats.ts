import { readFile } from 'node:fs/promises';
import mammoth from 'mammoth';
import { parse as parseHtml } from 'node-html-parser';
import { ExtractionError } from './extraction-error.ts';
import type { ExtractedPage } from './extract.ts';

/**
 * DOCX, HTML and TXT have no pages of their own. Their text is cut into sections of about this many
 * characters at paragraph (else line, else word) boundaries, and a section is what a citation's
 * `page` numbers: stable for a given file, and small enough to quote from.
 */
export const SECTION_CHARS = 3000;

export async function extractDocx(file: string): Promise<ExtractedPage[]> {
  let text: string;
  try {
    text = (await mammoth.extractRawText({ path: file })).value;
  } catch (err) {
    throw new ExtractionError('DOCUMENT_INVALID', `the DOCX document could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  return sections(text);
}

export async function extractHtml(file: string): Promise<ExtractedPage[]> {
  const root = parseHtml(decode(await readFile(file)), { blockTextElements: { pre: true } });
  root.querySelectorAll('script, style, noscript, template, svg').forEach((el) => el.remove());
  const body = root.querySelector('body') ?? root;
  return sections(body.structuredText);
}

export async function extractTxt(file: string): Promise<ExtractedPage[]> {
  return sections(decode(await readFile(file)));
}

function decode(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
  return new TextDecoder('utf-8').decode(bytes); // strips a UTF-8 BOM; bad bytes become U+FFFD
}

/** Splits text into sections of at most ~SECTION_CHARS, preferring paragraph, then line, then word breaks. */
export function sections(text: string, size = SECTION_CHARS): ExtractedPage[] {
  const clean = text.replace(/\r\n?/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  if (!clean) return [{ page: 1, text: '', method: 'none' }];
  const out: string[] = [];
  let rest = clean;
  while (rest.length > size) {
    const window = rest.slice(0, size);
    const cut = [window.lastIndexOf('\n\n'), window.lastIndexOf('\n'), window.lastIndexOf(' ')].find((i) => i > size / 2) ?? size;
    out.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest) out.push(rest);
  return out.map((t, i) => ({ page: i + 1, text: t, method: 'text' as const }));
}
