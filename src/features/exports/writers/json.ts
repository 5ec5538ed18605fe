import { Readable } from 'node:stream';
import { metadataFields, type ExportPage, type ExportWriter, type WriteOptions } from './common.ts';

const RESERVED = new Set(['rowId', '_cells']);

/**
 * Object keys, serialised once. A column literally named "rowId" or "_cells" is keyed
 * "<name> (<columnId>)" so it can never overwrite the row's own keys.
 */
export function jsonKeys(options: WriteOptions): string[] {
  return options.columns.map((c) => JSON.stringify(RESERVED.has(c.name) ? `${c.name} (${c.id})` : c.name));
}

function rowText(rowId: string, cells: ExportPage['cells'][number], keyTexts: readonly string[], includeMetadata: boolean): string {
  let out = `{"rowId":${JSON.stringify(rowId)}`;
  for (let c = 0; c < keyTexts.length; c++) out += `,${keyTexts[c]}:${JSON.stringify(cells[c]?.value ?? null)}`;
  if (includeMetadata) {
    out += ',"_cells":{';
    for (let c = 0; c < keyTexts.length; c++) {
      const [status] = metadataFields(cells[c]);
      out += `${c ? ',' : ''}${keyTexts[c]}:{"status":${JSON.stringify(status)},"metadata":${JSON.stringify(cells[c]?.metadata ?? {})}}`;
    }
    out += '}';
  }
  return `${out}}`;
}

/** A non-empty page's row objects, one a line, each line but the file's first led by a comma (what writeJson writes for it). */
export function jsonPageText(page: ExportPage, keyTexts: readonly string[], includeMetadata: boolean, first: boolean): string {
  const lines = page.rowIds.map((rowId, r) => rowText(rowId, page.cells[r]!, keyTexts, includeMetadata));
  return `${first ? '\n' : ',\n'}${lines.join(',\n')}`;
}

/** The file's end, after its pages (`first`: no page was written). */
export const jsonTail = (first: boolean) => (first ? ']\n' : '\n]\n');

/**
 * A JSON array of row objects, streamed by hand (`[`, rows, `]`) so no whole-file value is ever
 * built: {"rowId": ..., "<column name>": value, ...}, plus "_cells" with status and metadata per
 * column when includeMetadata is set. One row per line keeps large files greppable.
 */
export const writeJson: ExportWriter = (pages, options) => {
  const keyTexts = jsonKeys(options);
  return Readable.from(
    (async function* () {
      let first = true;
      yield Buffer.from('[');
      for await (const page of pages) {
        if (!page.rowIds.length) continue;
        yield Buffer.from(jsonPageText(page, keyTexts, options.includeMetadata, first));
        first = false;
      }
      yield Buffer.from(jsonTail(first));
    })(),
  );
};
