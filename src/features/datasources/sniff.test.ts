import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import ExcelJS from 'exceljs';
import { ApiError } from '../../http/errors.ts';
import { sniffFile, type FileFormat } from './sniff.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-sniff-'));
});
after(() => rm(dir, { recursive: true, force: true }));

let counter = 0;
async function sniff(fileName: string, content: string | Uint8Array) {
  const file = path.join(dir, `${counter++}-${fileName}`);
  await writeFile(file, content);
  return sniffFile(file, fileName);
}

async function expectFormat(fileName: string, content: string | Uint8Array, format: FileFormat) {
  assert.equal((await sniff(fileName, content)).format, format, `${fileName} should sniff as ${format}`);
}

async function expectApiError(promise: Promise<unknown>, code: string): Promise<ApiError> {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.code, code);
  return err;
}

/** A stored (uncompressed) zip: enough to exercise the sniffer's central-directory reading. */
function zip(entries: Record<string, string>): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(entries)) {
    const nameBytes = Buffer.from(name);
    const data = Buffer.from(text);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

async function xlsxBytes(): Promise<Uint8Array> {
  const workbook = new ExcelJS.Workbook();
  workbook.addWorksheet('Data').addRow(['a', 'b']);
  return new Uint8Array(await workbook.xlsx.writeBuffer());
}

const utf16le = (text: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);

describe('sniffFile', () => {
  it('reports the MIME type and kind with the format', async () => {
    assert.deepEqual(await sniff('people.csv', 'name,age\nAda,36\n'), { format: 'csv', contentType: 'text/csv', kind: 'tabular' });
    assert.deepEqual(await sniff('scan.pdf', '%PDF-1.7\n%\xe2\xe3\n'), { format: 'pdf', contentType: 'application/pdf', kind: 'document' });
    assert.deepEqual(await sniff('book.xlsx', await xlsxBytes()), { format: 'xlsx', contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', kind: 'tabular' });
  });

  it('decides text formats by extension when the content agrees', async () => {
    await expectFormat('a.csv', '\ufeffname;age\nAda;36\n', 'csv');
    await expectFormat('a.tsv', 'name\tage\nAda\t36\n', 'tsv');
    await expectFormat('a.tab', 'name\tage\n', 'tsv');
    await expectFormat('a.json', '  [{"a":1}]', 'json');
    await expectFormat('a.jsonl', '{"a":1}\n{"a":2}\n', 'jsonl');
    await expectFormat('a.ndjson', '{"a":1}\n', 'jsonl');
    await expectFormat('page.htm', '<p>hello</p>', 'html');
    await expectFormat('notes.txt', 'a,b\n1,2\n', 'txt');
    await expectFormat('a.CSV', 'x\n1\n', 'csv');
  });

  it('accepts UTF-16 text with a byte-order mark', async () => {
    assert.deepEqual(await sniff('wide.csv', utf16le('name,city\nZoë,Köln\n')), { format: 'csv', contentType: 'text/csv', kind: 'tabular' });
    await expectFormat('wide', utf16le('name,city\nZoë,Köln\n'), 'csv');
  });

  it('guesses text formats from content when the name says nothing', async () => {
    await expectFormat('upload', '[{"a": 1}, {"a": 2}]', 'json');
    await expectFormat('upload.dat', '{"rows": [{"a": 1}]}', 'json');
    await expectFormat('upload', '{"a": 1}\n{"a": 2}\n\n{"b": 3}\n', 'jsonl');
    await expectFormat('upload', 'name\tage\tcity\nAda\t36\tLondon\nAlan\t41\tWilmslow\n', 'tsv');
    await expectFormat('upload', 'name,age\r\nAda,36\r\n"Hopper, Grace",85\r\n', 'csv');
    await expectFormat('upload', 'Dear Ada,\nthank you for the notes, all of them.\nBest\n', 'txt');
    await expectFormat('upload', '<!DOCTYPE html><html><body>hi</body></html>', 'html');
    await expectFormat('upload', '[1] Introduction\nThis is prose, not JSON.\n', 'txt');
  });

  it('trusts content over a lying extension', async () => {
    await expectFormat('photo.png', 'a,b\n1,2\n3,4\n', 'csv');
    await expectFormat('data.csv', '%PDF-1.4\n1 0 obj\n', 'pdf');
    await expectFormat('export.csv', '\n  <!doctype html>\n<html><body>Sign in</body></html>', 'html');
    await expectFormat('data.json', 'a,b\n1,2\n', 'csv');
    await expectFormat('image.bin', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), 'png');
    await expectFormat('image.png', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46]), 'jpeg');
    await expectFormat('book.csv', await xlsxBytes(), 'xlsx');
  });

  it('tells XLSX, DOCX and other zips apart by their parts', async () => {
    await expectFormat('letter.zip', zip({ '[Content_Types].xml': '<Types/>', 'word/document.xml': '<w:document/>' }), 'docx');
    await expectFormat('book.docx', zip({ '[Content_Types].xml': '<Types/>', 'xl/workbook.xml': '<workbook/>' }), 'xlsx');
    const err = await expectApiError(sniff('archive.xlsx', zip({ 'readme.txt': 'hello', 'data/a.csv': 'a\n1\n' })), 'UNSUPPORTED_FILE_TYPE');
    assert.deepEqual(err.details, { fileName: 'archive.xlsx' });
  });

  it('finds the main part when it is stored last or the directory outgrows the tail', async () => {
    const padding = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`padding/${i}.bin`, 'x'.repeat(4096)]));
    await expectFormat('big.bin', zip({ ...padding, 'xl/workbook.xml': '<workbook/>' }), 'xlsx');
    const manyParts = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`customXml/item-${i}-${'y'.repeat(40)}.xml`, '']));
    await expectFormat('many.bin', zip({ ...manyParts, 'word/document.xml': '<w:document/>' }), 'docx');
  });

  it('refuses binary content that matches no known format', async () => {
    const blob = Buffer.from([0x00, 0x01, 0x02, 0x03, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x07]);
    const err = await expectApiError(sniff('blob.bin', blob), 'UNSUPPORTED_FILE_TYPE');
    assert.deepEqual(err.details, { fileName: 'blob.bin' });
    assert.deepEqual((await expectApiError(sniff('data.csv', blob), 'UNSUPPORTED_FILE_TYPE')).details, { fileName: 'data.csv' });
    assert.deepEqual((await expectApiError(sniff('photo.png', 'not really a png\u0000\u0001'), 'UNSUPPORTED_FILE_TYPE')).details, { fileName: 'photo.png' });
  });

  it('passes a legacy-encoded table to the reader, which names the bad byte, but refuses it unnamed', async () => {
    const latin1 = Buffer.from('name,city\nZo\xeb,K\xf6ln\n', 'latin1');
    await expectFormat('cities.csv', latin1, 'csv');
    await expectApiError(sniff('cities', latin1), 'UNSUPPORTED_FILE_TYPE');
  });

  it('rejects an empty file as an invalid parameter', async () => {
    const err = await expectApiError(sniff('empty.csv', ''), 'INVALID_PARAMETERS');
    assert.deepEqual(
      (err.details.issues as { path: string }[]).map((i) => i.path),
      ['file'],
    );
  });

  it('reads only a prefix of large files, tolerating a character cut at its end', async () => {
    // 'é' is two bytes; this puts one at the 64 KiB boundary of the sniffed prefix.
    const line = 'x'.repeat(65535 - 'name,n\na,1\n'.length) + 'é,2\n';
    await expectFormat('cut', `name,n\na,1\n${line}b,3\n`, 'csv');
    const objects = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: i, name: `row ${i}` }));
    await expectFormat('big', `[\n${objects.join(',\n')}\n]`, 'json');
    await expectFormat('big', objects.join('\n'), 'jsonl');
    await expectFormat('big', Array.from({ length: 5000 }, (_, i) => `${i},row ${i}`).join('\n'), 'csv');
  });
});
