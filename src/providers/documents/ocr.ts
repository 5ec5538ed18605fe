import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Canvas } from '@napi-rs/canvas';
import { createWorker, OEM, type Worker } from 'tesseract.js';
import { ExtractionError } from './extraction-error.ts';

/**
 * Offline OCR: tesseract.js with the English traineddata shipped in @tesseract.js-data/eng. The
 * language path points at that installed package, so nothing is ever downloaded at run time; the
 * cache path is a temp folder tesseract.js may write to (it keeps nothing we rely on there).
 * One tesseract worker per extraction thread, created on first use and reused.
 */
const require = createRequire(import.meta.url);
const ENG = require('@tesseract.js-data/eng') as { langPath: string; gzip: boolean };

let worker: Promise<Worker> | undefined;

function tesseract(): Promise<Worker> {
  worker ??= createWorker('eng', OEM.LSTM_ONLY, {
    langPath: ENG.langPath,
    gzip: ENG.gzip,
    cachePath: path.join(os.tmpdir(), 'cellwise-tesseract'),
    cacheMethod: 'none',
    errorHandler: () => {},
  });
  return worker;
}

/** OCR of a rendered page or decoded image. */
export async function ocrCanvas(canvas: Canvas): Promise<string> {
  const png = canvas.toBuffer('image/png');
  const result = await (await tesseract()).recognize(png);
  return result.data.text.trim();
}

/** Images over this many pixels are refused rather than handed to OCR (a 20000 x 20000 "photo" is an attack, not a scan). */
const MAX_IMAGE_PIXELS = 80_000_000;

/**
 * OCR of an image file's bytes (PNG, JPEG). Decoding is left to tesseract's WebAssembly decoders,
 * which reject a damaged file with an error: @napi-rs/canvas's native decoder crashed the whole
 * process (SIGSEGV) on a truncated PNG, so it is only used to draw pages pdfjs has decoded itself.
 */
export async function ocrImage(bytes: Buffer, format: 'png' | 'jpeg'): Promise<string> {
  const size = imageSize(bytes, format);
  if (!size) throw new ExtractionError('DOCUMENT_INVALID', `not a readable ${format.toUpperCase()} image (the file is damaged or only named like one)`);
  if (size.width * size.height > MAX_IMAGE_PIXELS) throw new ExtractionError('DOCUMENT_TOO_LARGE', `the image is ${size.width} x ${size.height} pixels; at most ${MAX_IMAGE_PIXELS / 1_000_000} megapixels are read`);
  try {
    return (await (await tesseract()).recognize(bytes)).data.text.trim();
  } catch {
    throw new ExtractionError('DOCUMENT_INVALID', `not a readable ${format.toUpperCase()} image (the file is damaged or only named like one)`);
  }
}

/** Width and height from a PNG's IHDR or a JPEG's start-of-frame marker, or undefined when there is none. */
export function imageSize(bytes: Buffer, format: 'png' | 'jpeg'): { width: number; height: number } | undefined {
  if (format === 'png') {
    if (bytes.length < 24 || bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
    const size = { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
    return size.width && size.height ? size : undefined;
  }
  for (let i = 2; i + 9 < bytes.length; ) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    const length = bytes.readUInt16BE(i + 2);
    // SOF0-SOF15 carry the frame size; C4 (Huffman tables), C8 and CC (arithmetic coding) do not.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const size = { height: bytes.readUInt16BE(i + 5), width: bytes.readUInt16BE(i + 7) };
      return size.width && size.height ? size : undefined;
    }
    i += 2 + length;
  }
  return undefined;
}

export async function closeOcr(): Promise<void> {
  const w = worker;
  worker = undefined;
  if (w) await (await w).terminate();
}
