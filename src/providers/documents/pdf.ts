import { readFile } from 'node:fs/promises';
import { createCanvas } from '@napi-rs/canvas';
import * as pdfjs from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { TextItem } from 'pdfjs-dist/types/src/display/api.js';
import { ExtractionError } from './extraction-error.ts';
import { ocrCanvas } from './ocr.ts';
import type { ExtractedPage, ExtractOptions } from './extract.ts';

/** A page with fewer visible characters than this has no usable text layer (a scan, or a bare page number). */
const USABLE_TEXT_CHARS = 10;
/** Render scale for OCR: 2 x 72 dpi is enough for body text and keeps a page under ~2 megapixels. */
const OCR_SCALE = 2;
const MAX_RENDER_SIDE = 4000;

/**
 * Per-page text of a PDF with pdfjs-dist (legacy build: Node without DOM). `ocr: auto` renders and
 * OCRs only pages without a usable text layer; `always` OCRs every page and keeps both texts.
 */
export async function extractPdf(file: string, options: ExtractOptions): Promise<ExtractedPage[]> {
  const data = new Uint8Array(await readFile(file));
  const task = pdfjs.getDocument({ data, isEvalSupported: false, disableFontFace: true, useSystemFonts: false, verbosity: 0, stopAtErrors: false });
  let doc: pdfjs.PDFDocumentProxy;
  try {
    doc = await task.promise;
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'PasswordException') throw new ExtractionError('DOCUMENT_ENCRYPTED', 'the PDF is encrypted and needs a password');
    if (name === 'InvalidPDFException') throw new ExtractionError('DOCUMENT_INVALID', 'not a valid PDF (corrupt or truncated)');
    throw new ExtractionError('DOCUMENT_INVALID', `the PDF could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    if (doc.numPages > options.maxPages) throw new ExtractionError('DOCUMENT_TOO_MANY_PAGES', `the PDF has ${doc.numPages} pages; at most ${options.maxPages} are extracted (CELLWISE_DOCUMENT_MAX_PAGES)`);
    const pages: ExtractedPage[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const text = pageText(await page.getTextContent());
      const usable = text.replace(/\s/g, '').length >= USABLE_TEXT_CHARS;
      if (options.ocr === 'never' || (usable && options.ocr === 'auto')) pages.push({ page: n, text, method: usable ? 'text' : 'none' });
      else {
        const ocr = await renderAndOcr(page);
        if (options.ocr === 'always') pages.push({ page: n, text: usable ? text : ocr, method: usable ? 'text' : ocr ? 'ocr' : 'none', ocrText: ocr });
        else pages.push({ page: n, text: ocr || text, method: ocr ? 'ocr' : text.trim() ? 'text' : 'none' });
      }
      page.cleanup();
    }
    return pages;
  } finally {
    await doc.destroy();
  }
}

/** Text items in reading order as pdfjs gives them: a newline where the line ends, a space between runs. */
function pageText(content: { items: readonly unknown[] }): string {
  let out = '';
  for (const raw of content.items) {
    const item = raw as Partial<TextItem>;
    if (typeof item.str !== 'string') continue;
    if (out && !/\s$/.test(out) && item.str && !/^\s/.test(item.str)) out += ' ';
    out += item.str;
    if (item.hasEOL) out += '\n';
  }
  return out.replace(/[ \t]+\n/g, '\n').trim();
}

async function renderAndOcr(page: pdfjs.PDFPageProxy): Promise<string> {
  const base = page.getViewport({ scale: 1 });
  const scale = Math.min(OCR_SCALE, MAX_RENDER_SIDE / Math.max(base.width, base.height, 1));
  const viewport = page.getViewport({ scale });
  const canvas = createCanvas(Math.max(1, Math.ceil(viewport.width)), Math.max(1, Math.ceil(viewport.height)));
  const context = canvas.getContext('2d');
  context.fillStyle = 'white';
  context.fillRect(0, 0, canvas.width, canvas.height);
  // pdfjs types its canvas arguments as DOM ones; @napi-rs/canvas implements the same API in Node.
  type RenderParams = Parameters<pdfjs.PDFPageProxy['render']>[0];
  await page.render({ canvas: canvas as unknown as RenderParams['canvas'], canvasContext: context as unknown as RenderParams['canvasContext'], viewport }).promise;
  return ocrCanvas(canvas);
}
