import { Readable } from 'node:stream';
import { metadataFields, type ExportPage, type ExportWriter, type WriteOptions } from './common.ts';

const RESERVED = new Set(['rowId', '_cells']);

/**
 * Object keys, serialised once. A column literally named "rowId" or "_cells" is keyed
 * "<name> (<columnId>)" so it can never overwrite the row's own keys.
 */
function keys(options: WriteOptions): string[] {
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

/**
 * A JSON array of row objects, streamed by hand (`[`, rows, `]`) so no whole-file value is ever
 * built: {"rowId": ..., "<column name>": value, ...}, plus "_cells" with status and metadata per
 * column when includeMetadata is set. One row per line keeps large files greppable.
 */
export const writeJson: ExportWriter = (pages, options) => {
  const keyTexts = keys(options);
  return Readable.from(
    (async function* () {
      let first = true;
      yield Buffer.from('[');
      for await (const page of pages) {
        if (!page.rowIds.length) continue;
        const lines = page.rowIds.map((rowId, r) => rowText(rowId, page.cells[r]!, keyTexts, options.includeMetadata));
        yield Buffer.from(`${first ? '\n' : ',\n'}${lines.join(',\n')}`);
        first = false;
      }
      yield Buffer.from(first ? ']\n' : '\n]\n');
    })(),
  );
};
