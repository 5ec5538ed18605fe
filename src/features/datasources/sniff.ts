import { open, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { TextDecoder } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import { jsonParser } from 'stream-json/parser.js';
import { ApiError, InvalidParametersError } from '../../http/errors.ts';
import { readAt, zipEntryNames } from './sniff-zip.ts';
import { encodingOf } from './tabular-text.ts';

export type FileFormat = 'csv' | 'tsv' | 'json' | 'jsonl' | 'xlsx' | 'pdf' | 'docx' | 'html' | 'txt' | 'png' | 'jpeg';
export type SniffedFile = { contentType: string; format: FileFormat; kind: 'tabular' | 'document' };

export const CONTENT_TYPES: Record<FileFormat, string> = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  json: 'application/json',
  jsonl: 'application/x-ndjson',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  html: 'text/html',
  txt: 'text/plain',
  png: 'image/png',
  jpeg: 'image/jpeg',
};

const TABULAR_FORMATS: ReadonlySet<FileFormat> = new Set(['csv', 'tsv', 'json', 'jsonl', 'xlsx']);
/** Extensions that name a table format whatever the first bytes look like. */
const TABLE_EXTENSIONS: Readonly<Record<string, FileFormat>> = { csv: 'csv', tsv: 'tsv', tab: 'tsv', jsonl: 'jsonl', ndjson: 'jsonl', json: 'json' };
const SNIFF_BYTES = 64 * 1024;
/** Enough records to see whether a delimiter splits lines consistently, few enough to stay quick. */
const SAMPLE_RECORDS = 50;

const SIGNATURES: readonly [FileFormat | 'zip', readonly number[]][] = [
  ['pdf', [0x25, 0x50, 0x44, 0x46, 0x2d]], // %PDF-
  ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ['jpeg', [0xff, 0xd8, 0xff]],
  ['zip', [0x50, 0x4b, 0x03, 0x04]],
  ['zip', [0x50, 0x4b, 0x05, 0x06]], // an empty archive
];

/**
 * Decides what an upload really is from its content, reading at most the first 64 KiB (and, for a
 * zip, its directory at the end). The file name only breaks ties between text formats: a name can
 * lie, and trusting it would send a PDF to the CSV parser or an HTML error page into a table.
 */
export async function sniffFile(path: string, fileName: string): Promise<SniffedFile> {
  const handle = await open(path);
  try {
    const { size } = await handle.stat();
    if (size === 0) throw new InvalidParametersError([{ path: 'file', message: 'file is empty' }]);
    const head = await readAt(handle, 0, Math.min(size, SNIFF_BYTES));
    const format = (await binaryFormat(handle, size, head, fileName)) ?? textFormat(head, head.length < size, fileName);
    return { contentType: CONTENT_TYPES[format], format, kind: TABULAR_FORMATS.has(format) ? 'tabular' : 'document' };
  } finally {
    await handle.close();
  }
}

function unsupported(fileName: string, what: string): ApiError {
  return new ApiError('UNSUPPORTED_FILE_TYPE', `${fileName} ${what}; upload CSV, TSV, JSON, JSONL, XLSX, PDF, DOCX, HTML, TXT, PNG or JPEG`, { fileName });
}

async function binaryFormat(handle: FileHandle, size: number, head: Buffer, fileName: string): Promise<FileFormat | undefined> {
  const match = SIGNATURES.find(([, bytes]) => bytes.every((b, i) => head[i] === b))?.[0];
  if (match !== 'zip') return match;
  // XLSX and DOCX are both zips; only the parts inside tell them apart from each other and from any other archive.
  const names = new Set(await zipEntryNames(handle, size, head));
  if (names.has('xl/workbook.xml')) return 'xlsx';
  if (names.has('word/document.xml')) return 'docx';
  throw unsupported(fileName, 'is a zip archive that is neither an XLSX workbook nor a DOCX document');
}

function textFormat(head: Buffer, truncated: boolean, fileName: string): FileFormat {
  const extension = extname(fileName).slice(1).toLowerCase();
  const text = decodeText(head, truncated);
  if (text === undefined) {
    // A table saved in a legacy 8-bit encoding (Windows-1252, Latin-1) is still a table: the
    // reader rejects it naming the first bad byte, which tells the user more than "unsupported".
    const named = TABLE_EXTENSIONS[extension];
    if (named && !head.includes(0)) return named;
    throw unsupported(fileName, 'is neither a known document or image format nor UTF-8 text');
  }
  const start = text.trimStart();
  const opening = start.slice(0, 14).toLowerCase();
  if (opening.startsWith('<!doctype html') || opening.startsWith('<html')) return 'html';
  switch (extension) {
    case 'json':
      if (start.startsWith('[') || start.startsWith('{')) return 'json';
      break;
    case 'jsonl':
    case 'ndjson':
    case 'csv':
    case 'tsv':
    case 'tab':
      return TABLE_EXTENSIONS[extension]!;
    case 'html':
    case 'htm':
      return 'html';
    case 'txt':
      return 'txt';
  }
  return guessTextFormat(text, truncated);
}

/** The sniffed prefix as text, or undefined when it is not text (invalid encoding or NUL bytes). */
function decodeText(head: Buffer, truncated: boolean): string | undefined {
  let text: string;
  try {
    // `stream` tolerates a character cut in two by the end of the prefix.
    text = new TextDecoder(encodingOf(head), { fatal: true }).decode(head, { stream: truncated });
  } catch {
    return undefined;
  }
  return text.includes('\u0000') ? undefined : text;
}

/** For a name that says nothing about the content (none, unknown, or a lying one like photo.png). */
function guessTextFormat(text: string, truncated: boolean): FileFormat {
  // Judge only whole lines: the prefix may end mid-line.
  const cut = truncated ? text.lastIndexOf('\n') : -1;
  const sample = cut > 0 ? text.slice(0, cut + 1) : text;
  const start = sample.trimStart();
  if (start.startsWith('[') || start.startsWith('{')) {
    if (truncated ? isJsonPrefix(text) : parsesAsJson(text)) return 'json';
    if (start.startsWith('{') && linesAreObjects(sample)) return 'jsonl';
  }
  if (splitsConsistently(sample, '\t')) return 'tsv';
  if (splitsConsistently(sample, ',')) return 'csv';
  return 'txt';
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A prefix of a larger file cannot be JSON.parse'd; the streaming tokenizer can say whether it goes wrong so far. */
function isJsonPrefix(text: string): boolean {
  try {
    jsonParser({ streamValues: false })(text);
    return true;
  } catch {
    return false;
  }
}

function linesAreObjects(text: string): boolean {
  const lines = text.split('\n').filter((line) => line.trim());
  return lines.length > 0 && lines.every((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    } catch {
      return false;
    }
  });
}

/** At least two records, all with the same number (two or more) of fields: prose rarely manages that. */
function splitsConsistently(text: string, delimiter: string): boolean {
  if (!text.includes(delimiter)) return false;
  let records: string[][];
  try {
    records = parseCsv(text, { delimiter, record_delimiter: ['\r\n', '\n', '\r'], relax_column_count: true, skip_empty_lines: true, to_line: SAMPLE_RECORDS });
  } catch {
    return false;
  }
  const width = records[0]?.length ?? 0;
  return records.length >= 2 && width >= 2 && records.every((record) => record.length === width);
}
