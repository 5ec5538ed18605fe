import { readFile } from 'node:fs/promises';
import type { PageMethod } from '../../store/documents.ts';
import { ExtractionError } from './extraction-error.ts';
import { ocrImage } from './ocr.ts';
import { extractPdf } from './pdf.ts';
import { extractDocx, extractHtml, extractTxt } from './text-formats.ts';

export type ExtractedPage = { page: number; text: string; method: PageMethod; ocrText?: string };
/** `ocr`: auto OCRs pages without a usable text layer; always OCRs every page (keeping both texts); never skips OCR. */
export type ExtractOptions = { ocr: 'auto' | 'always' | 'never'; maxPages: number };

/**
 * A document's text, page by page (sections for formats without pages). Runs in an extraction
 * worker thread (see extractor-pool.ts), never on the API's event loop. Throws ExtractionError
 * with a user-facing reason for files that cannot be read.
 */
export async function extractDocument(file: string, format: string, options: ExtractOptions): Promise<ExtractedPage[]> {
  switch (format) {
    case 'pdf':
      return extractPdf(file, options);
    case 'docx':
      return extractDocx(file);
    case 'html':
      return extractHtml(file);
    case 'txt':
      return extractTxt(file);
    case 'png':
    case 'jpeg': {
      if (options.ocr === 'never') return [{ page: 1, text: '', method: 'none' }];
      const text = await ocrImage(await readFile(file), format as 'png' | 'jpeg');
      return [{ page: 1, text, method: text ? 'ocr' : 'none', ...(options.ocr === 'always' ? { ocrText: text } : {}) }];
    }
    default:
      throw new ExtractionError('DOCUMENT_INVALID', `${format} is not a document format`);
  }
}
