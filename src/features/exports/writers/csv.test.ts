import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import type { CellRecord } from '../../../store/rows.ts';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { csvLines, csvText, writeCsv } from './csv.ts';
import type { ExportPage } from './common.ts';

async function* pagesOf(...pages: ExportPage[]) {
  yield* pages;
}
/** The file as written, byte-order mark included (a TextDecoder would drop it). */
const text = async (stream: Readable) => (await buffer(stream)).toString('utf8');
const cell = (value: unknown, metadata: Record<string, unknown> = {}, status = 'done') => ({ value, metadata, status }) as unknown as CellRecord;

describe('CSV writer', () => {
  it('prefixes every formula lead character with a quote, and leaves numbers and plain text alone', () => {
    for (const lead of ['=', '+', '-', '@', '\t', '\r']) assert.equal(csvText(`${lead}cmd|' /C calc'!A0`), `'${lead}cmd|' /C calc'!A0`, JSON.stringify(lead));
    for (const plain of ['-5', '+1.5e3', '-.5', '+7.', '-2E-3', '-12.5', '-.55', '-2e-30', '42', 'hello', 'a=b', ' =1', '', "'quoted"]) assert.equal(csvText(plain), plain, plain);
    for (const guarded of ['-5 apples', '+1+1', '-e5', '--5', '=5', '@5', '-1.2.3', '+']) assert.equal(csvText(guarded), `'${guarded}`, guarded);
    assert.deepEqual([csvText(null), csvText(undefined), csvText(-3), csvText(0.25), csvText(true), csvText(false)], ['', '', '-3', '0.25', 'true', 'false']);
    assert.deepEqual([csvText({ a: '=x' }), csvText([1, '@y'])], ['{"a":"=x"}', '[1,"@y"]'], 'objects and arrays are JSON, whose leading { or [ is inert');
  });

  it('guards header names too: a column named like a formula is written as text', async () => {
    const columns = [{ id: 'c1', name: '=HYPERLINK("http://x")' }, { id: 'c2', name: '@SUM(A1)' }, { id: 'c3', name: 'Plain, "quoted"' }];
    const out = await text(writeCsv(pagesOf({ rowIds: ['r1'], cells: [[cell('=1+1'), cell(-5), undefined]] }), { columns, includeMetadata: false }));
    assert.equal(out, '\uFEFF"\'=HYPERLINK(""http://x"")",\'@SUM(A1),"Plain, ""quoted"""\r\n\'=1+1,-5,\r\n');
  });

  it('writes a value holding line breaks as one field of one record (quoted), which csv-parse reads back', async () => {
    const columns = [{ id: 'c1', name: 'Notes' }, { id: 'c2', name: 'n' }];
    const values = ['line one\nline two', 'carriage\rreturn', 'both\r\nends', 'plain'];
    const out = await text(writeCsv(pagesOf({ rowIds: values.map((_, i) => `r${i}`), cells: values.map((v, i) => [cell(v), cell(i)]) }), { columns, includeMetadata: false }));
    assert.deepEqual(parse(out, { bom: true }), [['Notes', 'n'], ...values.map((v, i) => [v, String(i)])]);
    // Quoted, so a reader that ends records at any line break (Excel, Python's csv) reads them whole too.
    for (const v of values.slice(0, 3)) assert.ok(out.includes(`"${v}"`), JSON.stringify(v));
  });

  it('adds status, confidence and sources after each column, guarded the same way', async () => {
    const columns = [{ id: 'c1', name: '-Name' }];
    const rows: ExportPage = { rowIds: ['r1', 'r2', 'r3'], cells: [[cell('+x', { confidence: 0.5, sources: [{ url: 'u' }] })], [cell(null, {}, 'empty')], [undefined]] };
    const out = await text(writeCsv(pagesOf(rows, { rowIds: [], cells: [] }), { columns, includeMetadata: true }));
    assert.equal(out, "\uFEFF'-Name,'-Name (status),'-Name (confidence),'-Name (sources)\r\n'+x,done,0.5,\"[{\"\"url\"\":\"\"u\"\"}]\"\r\n,empty,,\r\n,empty,,\r\n");
  });

  it('quotes fields exactly as csv-stringify does (RFC 4180, CRLF, a CR or LF in a field quoted), on random text', () => {
    // Characters that matter to CSV, and some that do not, in random fields and records.
    const alphabet = ['a', 'Z', '1', ' ', ',', '"', '\r', '\n', '\r\n', "'", ';', '\t', 'é', '✓', '=', '-'];
    let seed = 7;
    const next = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), (seed >>> 8) % n);
    for (let round = 0; round < 300; round++) {
      const records = Array.from({ length: 1 + next(4) }, () => Array.from({ length: 1 + next(5) }, () => Array.from({ length: next(7) }, () => alphabet[next(alphabet.length)]).join('')));
      // quote_record_delimiter: a lone CR or LF in a field is quoted too (csv-stringify's default
      // with a CRLF delimiter quotes neither, which splits such a record for every reader).
      assert.equal(csvLines(records), stringify(records, { record_delimiter: 'windows', quote_record_delimiter: true }), JSON.stringify(records));
    }
  });
});
