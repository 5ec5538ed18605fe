import assert from 'node:assert/strict';
import { createWriteStream, existsSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';
import { ApiError } from '../../http/errors.ts';
import { openTabular, type Tabular, type TabularFormat } from './tabular.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-tabular-'));
});
after(() => rm(dir, { recursive: true, force: true }));

let counter = 0;
async function fixture(name: string, content: string | Uint8Array): Promise<string> {
  const file = path.join(dir, `${counter++}-${name}`);
  await writeFile(file, content);
  return file;
}

async function allRows(table: Tabular, batchSize?: number): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  for await (const batch of table.batches(batchSize)) rows.push(...batch);
  return rows;
}

async function read(name: string, content: string | Uint8Array, format: TabularFormat, options?: { maxColumns?: number }) {
  const table = await openTabular(await fixture(name, content), format, options);
  return { columns: table.columns, rowCount: table.rowCount, rows: await allRows(table) };
}

/** The error a file produces, whether opening or streaming it fails; asserts code and path only. */
async function fileError(name: string, content: string | Uint8Array, format: TabularFormat, options?: { maxColumns?: number }): Promise<Record<string, unknown>> {
  const err = await read(name, content, format, options).then(
    () => assert.fail('expected the file to be rejected'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.code, 'INVALID_PARAMETERS');
  assert.deepEqual(
    (err.details.issues as { path: string }[]).map((i) => i.path),
    ['file'],
  );
  return err.details;
}

const withBom = (encoding: 'utf16le' | 'utf16be', text: string) => {
  const le = Buffer.from(text, 'utf16le');
  return encoding === 'utf16le' ? Buffer.concat([Buffer.from([0xff, 0xfe]), le]) : Buffer.concat([Buffer.from([0xfe, 0xff]), le.swap16()]);
};

describe('openTabular: CSV and TSV', () => {
  it('parses RFC 4180 quoting, multi-line fields, a BOM, CRLF and blank lines', async () => {
    const csv = '\ufeffName, Age ,,Notes\r\n\r\nAda,36,,"says ""hi"", twice"\r\nAlan,41,x,"multi\nline"\r\n\n  \nGrace,,,\r\n';
    const { columns, rows } = await read('people.csv', csv, 'csv');
    assert.deepEqual(columns, ['Name', 'Age', 'Column 3', 'Notes']);
    assert.deepEqual(rows, [
      ['Ada', 36, null, 'says "hi", twice'],
      ['Alan', 41, 'x', 'multi\nline'],
      ['Grace', null, null, null],
    ]);
  });

  it('turns only canonical number text into numbers and keeps values untrimmed', async () => {
    const { rows } = await read('values.csv', 'v\n42\n-3.5\n0\n007\n1e5\n1.50\n+1\n 7\nNaN\nInfinity\n-0\n12345678901234567890\nfoo \n', 'csv');
    assert.deepEqual(
      rows.map((r) => r[0]),
      [42, -3.5, 0, '007', '1e5', '1.50', '+1', ' 7', 'NaN', 'Infinity', '-0', '12345678901234567890', 'foo '],
    );
  });

  it('pads short rows with null', async () => {
    assert.deepEqual((await read('short.csv', 'a,b,c\n1\n1,2\n', 'csv')).rows, [
      [1, null, null],
      [1, 2, null],
    ]);
  });

  it('reads TSV, quoting included', async () => {
    const { columns, rows } = await read('a.tsv', 'city\tcountry\tpop\nLondon\tUK\t8.9\n"Tab\there"\t,\t\n', 'tsv');
    assert.deepEqual(columns, ['city', 'country', 'pop']);
    assert.deepEqual(rows, [
      ['London', 'UK', 8.9],
      ['Tab\there', ',', null],
    ]);
  });

  it('decodes UTF-16 LE and BE files that carry a BOM', async () => {
    for (const encoding of ['utf16le', 'utf16be'] as const) {
      const { columns, rows } = await read(`wide-${encoding}.csv`, withBom(encoding, 'name,city\r\nZoë,Köln\r\n李,北京\r\n'), 'csv');
      assert.deepEqual(columns, ['name', 'city']);
      assert.deepEqual(rows, [
        ['Zoë', 'Köln'],
        ['李', '北京'],
      ]);
    }
  });

  it('rejects invalid UTF-8 naming the byte offset and line', async () => {
    const details = await fileError('latin1.csv', Buffer.from('name,city\nZoe,Koln\nZo\xeb,K\xf6ln\n', 'latin1'), 'csv');
    assert.equal(details.byteOffset, 'name,city\nZoe,Koln\nZo'.length);
    assert.equal(details.line, 3);
  });

  it('finds a bad byte past the first read chunk, and accepts a character split between chunks', async () => {
    const filler = `a\n${'x'.repeat(65535 - 2)}é\n`; // the 2-byte 'é' straddles the 64 KiB chunk boundary
    assert.equal((await read('split.csv', filler, 'csv')).rows.length, 1);
    const bad = Buffer.concat([Buffer.from(filler), Buffer.from('ok\n'), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    const details = await fileError('late.csv', bad, 'csv');
    assert.equal(details.byteOffset, Buffer.byteLength(filler) + 3);
    assert.equal(details.line, 4);
    const truncated = await fileError('truncated.csv', Buffer.concat([Buffer.from('a\nb'), Buffer.from([0xe2, 0x82])]), 'csv');
    assert.equal(truncated.byteOffset, 3);
  });

  it('rejects a row longer than the header, naming the line where it starts', async () => {
    const csv = 'a,b,c\n1,2,3\n\n"multi\nline",2,3\n4,5,6\n7,8,9,10,11\n';
    const details = await fileError('ragged.csv', csv, 'csv');
    assert.equal(details.line, 7);
    assert.equal(details.fieldCount, 5);
    assert.equal(details.columnCount, 3);
  });

  it('rejects duplicate header names after trimming', async () => {
    assert.deepEqual((await fileError('dup.csv', 'id, name,name ,x,x\n1,2,3,4,5\n', 'csv')).duplicates, ['name', 'x']);
    assert.deepEqual((await fileError('dup2.csv', ',Column 1\n', 'csv')).duplicates, ['Column 1']);
  });

  it('rejects malformed quoting with a line number', async () => {
    // csv-parse reports where it gave up, not where the quote opened, so only the presence is pinned.
    assert.equal(typeof (await fileError('unclosed.csv', 'a,b\n1,"open\n2,3\n', 'csv')).line, 'number');
    assert.equal((await fileError('stray.csv', 'a,b\n1,2\n3,x"y"z\n', 'csv')).line, 3);
  });

  it('accepts a header with no data rows; refuses no header at all or too many columns', async () => {
    assert.deepEqual(await read('header.csv', 'a,b\n', 'csv'), { columns: ['a', 'b'], rowCount: undefined, rows: [] });
    await fileError('blank.csv', '\n\n   \n', 'csv');
    assert.equal((await fileError('wide.csv', 'a,b,c\n1,2,3\n', 'csv', { maxColumns: 2 })).maxColumns, 2);
  });

  it('re-reads the file on every iteration and honours the batch size', async () => {
    const table = await openTabular(await fixture('n.csv', `n\n${Array.from({ length: 25 }, (_, i) => i).join('\n')}\n`), 'csv');
    const sizes: number[] = [];
    for await (const batch of table.batches(10)) sizes.push(batch.length);
    assert.deepEqual(sizes, [10, 10, 5]);
    assert.equal((await allRows(table)).length, 25);
    assert.deepEqual((await allRows(table, 7))[24], [24]);
  });
});

describe('openTabular: JSON and JSONL', () => {
  it('reads an array of objects, columns the union of keys in first-seen order', async () => {
    const json = ' [{"name":"Ada","tags":["math"],"meta":{"born":1815}},\n{"age":36,"name":"Alan","alive":false},{}]';
    assert.deepEqual(await read('people.json', json, 'json'), {
      columns: ['name', 'tags', 'meta', 'age', 'alive'],
      rowCount: 3,
      rows: [
        ['Ada', ['math'], { born: 1815 }, null, null],
        ['Alan', null, null, 36, false],
        [null, null, null, null, null],
      ],
    });
  });

  it('accepts an object wrapping its one array of rows', async () => {
    const { columns, rows } = await read('wrapped.json', '{"meta":{"pages":[1,2]},"data":[{"a":1},{"b":"x"}],"total":2}', 'json');
    assert.deepEqual(columns, ['a', 'b']);
    assert.deepEqual(rows, [
      [1, null],
      [null, 'x'],
    ]);
  });

  it('rejects a top level that is not an array of objects, naming the bad element', async () => {
    await fileError('scalar.json', '42', 'json');
    await fileError('object.json', '{"a":1,"b":{"c":2}}', 'json');
    await fileError('two-arrays.json', '{"a":[{"x":1}],"b":[{"y":2}]}', 'json');
    assert.equal((await fileError('mixed.json', '[{"a":1},{"a":2},[3]]', 'json')).index, 2);
    assert.equal((await fileError('nulls.json', '[{"a":1},null]', 'json')).index, 1);
  });

  it('rejects malformed JSON with the line, and an empty array for having no columns', async () => {
    assert.equal((await fileError('syntax.json', '[{"a":1},\n{"a":2,}]', 'json')).line, 2);
    await fileError('cut.json', '[{"a":1},{"a"', 'json');
    await fileError('empty.json', '[]', 'json');
  });

  it('reads JSONL, skipping blank lines', async () => {
    assert.deepEqual(await read('a.jsonl', '\ufeff{"a":1}\r\n\n{"b":[2],"a":null}\n', 'jsonl'), {
      columns: ['a', 'b'],
      rowCount: 2,
      rows: [
        [1, null],
        [null, [2]],
      ],
    });
  });

  it('rejects a bad JSONL line by number', async () => {
    assert.equal((await fileError('bad.jsonl', '{"a":1}\n\n{"a":2\n', 'jsonl')).line, 3);
    assert.equal((await fileError('array.jsonl', '{"a":1}\n[1,2]\n', 'jsonl')).line, 2);
  });

  it('caps the number of distinct keys', async () => {
    assert.equal((await fileError('keys.jsonl', '{"a":1}\n{"b":1}\n{"c":1}\n', 'jsonl', { maxColumns: 2 })).maxColumns, 2);
  });
});

describe('openTabular: XLSX', () => {
  async function workbook(build: (ws: ExcelJS.Worksheet) => void): Promise<Uint8Array> {
    const wb = new ExcelJS.Workbook();
    build(wb.addWorksheet('Data'));
    wb.addWorksheet('Other').addRow(['ignored', 'sheet']);
    return new Uint8Array(await wb.xlsx.writeBuffer());
  }

  it('reads the first sheet with typed values from its first non-empty row', async () => {
    const bytes = await workbook((ws) => {
      ws.getCell('A2').value = ' Name ';
      ws.getCell('B2').value = 'Revenue';
      ws.getCell('D2').value = 'Founded';
      ws.getCell('E2').value = 'Double';
      ws.getCell('F2').value = 'Note';
      ws.addRow(['Acme', 1200.5, true, new Date(Date.UTC(1999, 0, 2)), { formula: 'B3*2', result: 2401 }, { richText: [{ text: 'he' }, { text: 'llo', font: { bold: true } }] }]);
      ws.addRow([]);
      ws.addRow(['Globex', 30, false, null, { formula: '1/0', result: { error: '#DIV/0!' } }, { text: 'site', hyperlink: 'https://example.com' }]);
      ws.addRow(['Short']);
    });
    const { columns, rows } = await read('book.xlsx', bytes, 'xlsx');
    assert.deepEqual(columns, ['Name', 'Revenue', 'Column 3', 'Founded', 'Double', 'Note']);
    assert.deepEqual(rows, [
      ['Acme', 1200.5, true, '1999-01-02T00:00:00.000Z', 2401, 'hello'],
      ['Globex', 30, false, null, null, 'site'],
      ['Short', null, null, null, null, null],
    ]);
  });

  it('rejects a value beyond the header, naming the row', async () => {
    const bytes = await workbook((ws) => {
      ws.addRow(['a', 'b']);
      ws.addRow([1, 2]);
      ws.addRow([1, 2, 'extra']);
    });
    assert.equal((await fileError('extra.xlsx', bytes, 'xlsx')).row, 3);
  });

  it('reads the first sheet in tab order, wherever the archive stores it', async () => {
    // exceljs stores sheets in tab order; other producers need not. Swap the tabs in workbook.xml,
    // so that the first tab is the second sheet part in the archive (the helper's sheet "Other").
    const zip = await JSZip.loadAsync(
      await workbook((ws) => {
        ws.addRow(['first']);
      }),
    );
    const xml = await zip.file('xl/workbook.xml')!.async('string');
    const tabs = xml.match(/<sheet [^>]*\/>/g)!;
    assert.equal(tabs.length, 2);
    zip.file('xl/workbook.xml', xml.replace(tabs.join(''), `${tabs[1]}${tabs[0]}`));
    const { columns, rows } = await read('tabs.xlsx', await zip.generateAsync({ type: 'uint8array' }), 'xlsx');
    assert.deepEqual(columns, ['ignored', 'sheet']);
    assert.deepEqual(rows, []);
  });

  it('reads one workbook many times at once, every time whole', async () => {
    // exceljs's one-pass streaming read lost the workbook part now and then ("Cannot read
    // properties of undefined (reading 'sheets')"), most often with reads side by side.
    const file = await fixture('many.xlsx', await workbook((ws) => Array.from({ length: 200 }, (_, i) => ws.addRow([i, `row ${i}`]))));
    const reads = await Promise.all(Array.from({ length: 20 }, async () => (await openTabular(file, 'xlsx')).batches(1000)[Symbol.asyncIterator]().next()));
    for (const { value } of reads) assert.equal((value as unknown[][]).length, 199);
  });

  it('closes the workbook, and spools nothing to temp files, even when reading stops early', async (t) => {
    if (!existsSync('/proc/self/fd')) return t.skip('needs /proc to list open files');
    const file = await fixture('stop.xlsx', await workbook((ws) => Array.from({ length: 500 }, (_, i) => ws.addRow([i, `row ${i}`]))));
    const openFiles = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          return target === file || path.basename(target).startsWith('tmp-');
        } catch {
          return false; // closed while listing
        }
      }).length;
    for (let i = 0; i < 3; i++) {
      const table = await openTabular(file, 'xlsx');
      for await (const batch of table.batches(10)) {
        assert.equal(batch.length, 10);
        break;
      }
    }
    // A destroyed stream closes its descriptor asynchronously: wait for the count to settle, not for a set time.
    const deadline = Date.now() + 2000;
    while (openFiles() > 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(openFiles(), 0, `${openFiles()} descriptors left open`);
  });

  it('rejects duplicate headers and an empty first sheet', async () => {
    assert.deepEqual((await fileError('dup.xlsx', await workbook((ws) => ws.addRow(['a', 'a '])), 'xlsx')).duplicates, ['a']);
    await fileError('empty.xlsx', await workbook(() => {}), 'xlsx');
  });
});

describe('openTabular: memory', () => {
  it('streams a 200,000-row CSV without holding it in memory', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const file = path.join(dir, 'big.csv');
    const out = createWriteStream(file);
    out.write('id,name,email,score,city\n');
    for (let start = 0; start < 200_000; start += 10_000) {
      let chunk = '';
      for (let i = start; i < start + 10_000; i++) chunk += `${i},Person ${i},person${i}@example.com,${i % 997}.5,"City, ${i % 100}"\n`;
      out.write(chunk);
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const { size } = await stat(file);

    gc();
    const baseline = process.memoryUsage().heapUsed;
    let peak = 0;
    let rows = 0;
    let batches = 0;
    const table = await openTabular(file, 'csv');
    for await (const batch of table.batches()) {
      rows += batch.length;
      if (++batches % 20 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
      }
    }
    assert.equal(rows, 200_000);
    assert.ok(peak < size / 4, `heap grew by ${(peak / 1e6).toFixed(1)} MB while streaming a ${(size / 1e6).toFixed(1)} MB file`);
  });
});
