import { createCanvas } from '@napi-rs/canvas';
import JSZip from 'jszip';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import PDFKit from 'pdfkit';
import assert from 'node:assert/strict';
import type { TestApp } from './app.ts';

/** Real document files made in memory for tests and benchmarks. */

/** A PDF with a text layer: one entry per page, each a list of lines. */
export async function textPdf(pages: readonly (readonly string[])[]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([612, 792]);
    lines.forEach((line, i) => page.drawText(line, { x: 50, y: 740 - i * 18, size: 12, font }));
  }
  return doc.save();
}

/** A PNG (or JPEG) of black text on white, large enough for OCR. */
export function textPng(lines: readonly string[], width = 1400, format: 'image/png' | 'image/jpeg' = 'image/png'): Buffer {
  const lineHeight = 64;
  const canvas = createCanvas(width, 60 + lines.length * lineHeight);
  const g = canvas.getContext('2d');
  g.fillStyle = 'white';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = 'black';
  g.font = '40px DejaVu Sans';
  lines.forEach((line, i) => g.fillText(line, 40, 80 + i * lineHeight));
  return format === 'image/png' ? canvas.toBuffer('image/png') : canvas.toBuffer('image/jpeg', 90);
}

/** A PDF whose pages are text pages (strings) or scans (a PNG drawn as the whole page, no text layer). */
export async function mixedPdf(pages: readonly (string | Buffer)[]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  // A scan repeated on many pages is embedded once and drawn on each: long scanned test documents stay small and quick to build.
  const images = new Map<Buffer, Awaited<ReturnType<typeof doc.embedPng>>>();
  for (const p of pages) {
    if (typeof p === 'string') {
      doc.addPage([612, 792]).drawText(p, { x: 50, y: 740, size: 12, font });
      continue;
    }
    const image = images.get(p) ?? (await doc.embedPng(p));
    images.set(p, image);
    const width = 612;
    const height = (image.height / image.width) * width;
    doc.addPage([width, height]).drawImage(image, { x: 0, y: 0, width, height });
  }
  return doc.save();
}

/** A PDF that needs a password to open (pdfkit's RC4/AES encryption). */
export function encryptedPdf(text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFKit({ userPassword: 'secret-password', ownerPassword: 'owner-password', pdfVersion: '1.7' });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.text(text);
    doc.end();
  });
}

/** A minimal DOCX (WordprocessingML in a zip) with one paragraph per entry. */
export async function docx(paragraphs: readonly string[]): Promise<Buffer> {
  const zip = new JSZip();
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  zip.file(
    '[Content_Types].xml',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
  );
  zip.file('_rels/.rels', '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>');
  const body = paragraphs.map((p) => `<w:p><w:r><w:t xml:space="preserve">${esc(p)}</w:t></w:r></w:p>`).join('');
  zip.file('word/document.xml', `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`);
  return zip.generateAsync({ type: 'nodebuffer' });
}

/** Polls a datasource until its extraction is over. */
export async function waitForDatasource(a: Pick<TestApp, 'get'>, id: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await a.get(`/api/v2/datasources/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (res.body.status !== 'processing') return res.body;
    if (Date.now() > deadline) throw new Error(`datasource ${id} still processing after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

