import assert from 'node:assert/strict';
import { buffer } from 'node:stream/consumers';
import { after, describe, it } from 'node:test';
import { encodeRow, type StoredCell } from '../../store/row-cells.ts';
import { createFormatPool, writeFormatted } from './format-pool.ts';
import type { PageColumn, RawPage } from './page-format.ts';
import type { ExportCell, ExportPage } from './writers/common.ts';
import { writeCsv } from './writers/csv.ts';
import { writeJson } from './writers/json.ts';

// Column ids are `col_` + 16 characters, cell ids `cell_` + the row id's and the column id's bodies (ids.ts).
const columns: PageColumn[] = ['name', 'rowId', '_cells', 'n', 'flag', 'obj', 'Ünïcødé, "quoted"'].map((name, position) => ({ id: `col_${String(position).padStart(16, 'c')}`, name, position }));
const rowId = (r: number) => `row_${String(r).padStart(16, 'r')}`;
const cellIdOf = (r: number, k: number) => `cell_${rowId(r).slice(4)}${columns[k]!.id.slice(4)}`;

const VALUES: unknown[] = ['plain', 'comma, inside', 'a "quoted" word', 'line\nbreak', 'cr\ronly', 'both\r\nends', '=SUM(A1)', '-5', '@x', 'Zoë 😀 東京 \u0000 \u2028', '\uD800 lone', '', null, 0, -2.5, 1e21, 2 ** 70, true, false, { a: [1, 'b'], q: '"' }, [], [null, '=x']];
const STATUSES = ['done', 'empty', 'error', 'stale', 'queued', 'processing'] as const;

/** Row r's cells: a mix of everything above, one cell missing now and then, and the cells out of place in some rows. */
function storedRow(r: number): StoredCell[] {
  const cells = columns.map((_, k) => ({ cellId: cellIdOf(r, k), value: VALUES[(r * 7 + k * 3) % VALUES.length], status: STATUSES[(r + k) % STATUSES.length]! }));
  if (r % 5 === 0) cells.splice(r % columns.length, 1);
  if (r % 4 === 1) cells.reverse();
  return cells;
}
function metadataOf(r: number, k: number): string | undefined {
  if ((r + k) % 3 === 0) return undefined;
  return JSON.stringify((r + k) % 3 === 1 ? { confidence: ((r * k) % 100) / 100, sources: [{ url: `https://example.com/${r}`, title: 'Zoë "quoted", ok' }] } : { note: 'line\nbreak', nested: { deep: [r, k] } });
}

/** The pages three ways: raw (as the store gives them, as bytes or text), and decoded by hand (the writers' input). */
function pages(sizes: number[], includeMetadata: boolean) {
  const raw: RawPage[] = [];
  const decoded: ExportPage[] = [];
  let r = 0;
  for (const [p, size] of sizes.entries()) {
    const rows = Array.from({ length: size }, () => r++);
    const text = rows.map((i) => encodeRow(storedRow(i))).join(',');
    const meta = new Map<string, string>();
    for (const i of rows) for (const [k, c] of columns.entries()) if (metadataOf(i, k)) meta.set(`${rowId(i)}/${c.id}`, metadataOf(i, k)!);
    raw.push({ rowIds: rows.map(rowId), cells: p % 2 ? text : new TextEncoder().encode(text), ...(includeMetadata ? { meta } : {}) });
    decoded.push({
      rowIds: rows.map(rowId),
      cells: rows.map((i) =>
        columns.map((_, k): ExportCell | undefined => {
          const c = storedRow(i).find((s) => s.cellId === cellIdOf(i, k));
          return c && { ...c, ...(includeMetadata ? { metadata: JSON.parse(metadataOf(i, k) ?? '{}') as Record<string, unknown> } : {}) };
        }),
      ),
    });
  }
  return { raw, decoded };
}

async function* each<T>(items: T[]) {
  yield* items;
}

describe('export format threads', () => {
  const threaded = createFormatPool({ size: 1 });
  const inline = createFormatPool({ size: 0 });
  after(() => threaded.close());

  for (const format of ['csv', 'json'] as const) {
    for (const includeMetadata of [false, true]) {
      it(`write ${format}${includeMetadata ? ' with metadata' : ''} byte for byte as the writer does, on a thread and inline`, async () => {
        const { raw, decoded } = pages([1000, 0, 37, 250], includeMetadata);
        const options = { columns, includeMetadata };
        const expected = await buffer((format === 'csv' ? writeCsv : writeJson)(each(decoded), options));
        const onThread = await buffer(writeFormatted(threaded, format, each(raw), columns, options));
        assert.equal(threaded.threads, 1, 'the pages went to a thread');
        const onMain = await buffer(writeFormatted(inline, format, each(raw), columns, options));
        assert.equal(inline.threads, 0);
        assert.ok(onThread.equals(expected), `${format} on a thread differs from the writer's`);
        assert.ok(onMain.equals(expected), `${format} inline differs from the writer's`);
        if (format === 'json') assert.equal((JSON.parse(expected.toString('utf8')) as unknown[]).length, 1287);
      });
    }
  }

  it('writes an export of no rows as the writers do', async () => {
    for (const format of ['csv', 'json'] as const) {
      const options = { columns, includeMetadata: true };
      const expected = await buffer((format === 'csv' ? writeCsv : writeJson)(each([]), options));
      assert.ok((await buffer(writeFormatted(threaded, format, each([]), columns, options))).equals(expected), format);
    }
  });

  it('formats inline when its thread cannot start, the page the thread held included', async () => {
    const unstartable = createFormatPool({ size: 1, code: 'throw new Error("no thread today")' });
    try {
      const { raw, decoded } = pages([300, 20, 5], false);
      const options = { columns, includeMetadata: false };
      const expected = await buffer(writeCsv(each(decoded), options));
      assert.ok((await buffer(writeFormatted(unstartable, 'csv', each(raw), columns, options))).equals(expected));
      assert.equal(unstartable.threads, 0, 'the thread that could not start is gone');
      // Later pages go inline straight away.
      assert.ok((await buffer(writeFormatted(unstartable, 'csv', each(raw), columns, options))).equals(expected));
      assert.equal(unstartable.threads, 0);
    } finally {
      await unstartable.close();
    }
  });

  it('fails the file when a page does not decode, on a thread and inline', async () => {
    for (const pool of [threaded, inline]) {
      const bad: RawPage = { rowIds: [rowId(0), rowId(1)], cells: encodeRow(storedRow(0)) };
      await assert.rejects(buffer(writeFormatted(pool, 'csv', each([bad]), columns, { columns, includeMetadata: false })), /decoded to 1/);
    }
  });
});
