import { createHash } from 'node:crypto';
import type { ColumnRecord } from '../../store/columns.ts';
import type { DatasourceRecord } from '../../store/datasources.ts';
import type { LlmRequest } from '../../providers/llm/llm.ts';
import { renderTemplate } from '../template.ts';
import { readsRow } from '../dependencies.ts';
import { CellError, rowContext, valueText, type ExecutionContext, type Executor, type Source } from '../executor.ts';
import { chunkPages, keywords, locateQuote, pageRanges, selectChunks, squash, type Chunk, type Page } from './document-chunks.ts';

/** What doc_extraction needs from the documents pipeline (features/datasources/documents.service.ts). */
export type DocumentSource = {
  /** The datasource once its extraction is over (or still `processing` after the wait); undefined if gone. */
  waitProcessed(workspaceId: string, id: string, signal: AbortSignal, timeoutMs?: number): Promise<DatasourceRecord | undefined>;
  /** A completed document's page texts as the OCR mode sees them. */
  pages(d: DatasourceRecord, ocr: 'auto' | 'always' | 'never'): Promise<Page[]>;
};
export type DocExtractionOptions = { documents: DocumentSource; chunkChars: number; maxChunks: number };

type Field = { key: string; name: string; prompt: string; schema?: Record<string, unknown> };
type Cited = { page?: unknown; quote?: unknown };
type Answer = Record<string, { value?: unknown; sources?: Cited[] } | undefined>;

const SYSTEM = [
  'You extract fields from a document for a spreadsheet. The document is given page by page between <page number="N"> tags.',
  'For every field, answer its value (null when the document does not say) and its sources: the page number and a short quote copied exactly, word for word, from that page that shows the value.',
  'Never invent a quote. Answer with JSON matching the given schema.',
].join(' ');

/**
 * doc_extraction: reads the document linked in the row, sends its pages with the fields to extract,
 * and keeps only citations whose quote is really on the cited page.
 *
 * Several doc_extraction columns over the same document share one call. The request is built from
 * the whole group of doc_extraction columns of the dataset that read the same source column with the
 * same model and OCR mode (and depend on raw columns only, so every prompt can be rendered from the
 * row before any of them runs), in column order, whichever column triggered it. So each column's cell
 * sends the byte-identical request: the first one pays, the others are answered by the LLM cache
 * (`cached: true`, cost 0). Cells of one row run concurrently, so a request in flight is also shared:
 * a cell that finds the same request running waits for it and then reads the cache, rather than
 * paying for a second identical call. The price of the shared call is that a run over one column also
 * pays the output tokens of its siblings' fields, which later runs over those columns get for free.
 *
 * Long documents are cut into chunks of `chunkChars` characters (pages kept whole where they fit);
 * each chunk is one call and the first chunk whose answer has verified quotes wins. Beyond
 * `maxChunks` chunks, the first and the most keyword-relevant are sent, and the cell's metadata
 * names the pages left out (`pagesSkipped`): never a silent truncation.
 */
export function docExtraction(options: DocExtractionOptions): Executor {
  const inflight = new Map<string, Promise<unknown>>();

  /** One LLM call per distinct request at a time in this process; a duplicate waits, then hits the cache. */
  async function completeOnce(ctx: ExecutionContext, modelId: string, req: Omit<LlmRequest, 'model' | 'signal'>) {
    const key = createHash('sha256').update(JSON.stringify([ctx.workspaceId, modelId, req])).digest('hex');
    const running = inflight.get(key);
    if (running) await running.catch(() => {});
    else {
      const call = ctx.llm.complete(modelId, req);
      inflight.set(key, call);
      try {
        return await call;
      } finally {
        inflight.delete(key);
      }
    }
    return ctx.llm.complete(modelId, req);
  }

  return {
    async execute(ctx) {
      const source = sourceColumn(ctx, ctx.column);
      const link = ctx.row[source.id] as { datasourceId?: unknown; fileName?: unknown } | null;
      if (!link || typeof link !== 'object' || typeof link.datasourceId !== 'string') throw new CellError('NO_DOCUMENT', `Column "${source.name}" of this row links no document`);
      // A document still being extracted is waited for (OCR can take minutes), except by the cost
      // estimate's dry run (engine/estimate.ts, task id 'estimate'), which must answer at once.
      const doc = await options.documents.waitProcessed(ctx.workspaceId, link.datasourceId, ctx.signal, ctx.taskId === 'estimate' ? 0 : undefined);
      if (!doc) throw new CellError('DOCUMENT_NOT_FOUND', `Document ${link.datasourceId} no longer exists`);
      if (doc.status === 'processing') throw new CellError('DOCUMENT_PROCESSING', `Document ${doc.fileName} is still being extracted`, true);
      if (doc.status === 'failed') throw new CellError('DOCUMENT_FAILED', `Document ${doc.fileName} could not be extracted: ${doc.error ?? 'unknown reason'}`);
      if (doc.kind !== 'document') throw new CellError('NOT_A_DOCUMENT', `${doc.fileName} is a table, not a document`);

      const meta = ctx.column.metadata;
      const ocr = (meta.ocr as 'auto' | 'always' | 'never' | undefined) ?? 'auto';
      const modelId = String(meta.model ?? ctx.defaultModel);
      const group = siblings(ctx, source, modelId, ocr);
      const fields = group.map((c) => field(ctx, c));
      const pages = await options.documents.pages(doc, ocr).catch((err: unknown) => {
        // Only `ocr: always` extracts here (its OCR pass); a document that fails it fails this cell.
        throw new CellError('DOCUMENT_FAILED', `Document ${doc.fileName} could not be read with OCR: ${err instanceof Error ? err.message : String(err)}`);
      });
      const chunks = chunkPages(pages, options.chunkChars);
      if (!chunks.length) throw new CellError('DOCUMENT_EMPTY', `No text could be read from ${doc.fileName}${ocr === 'never' ? ' without OCR' : ''}`);
      const sent = selectChunks(chunks, keywords(fields.flatMap((f) => [f.name, f.prompt])), options.maxChunks);

      const schema = answerSchema(fields);
      const answers = await Promise.all(
        sent.map(async (chunk) => {
          const answer = await completeOnce(ctx, modelId, {
            messages: [
              { role: 'system', content: SYSTEM },
              { role: 'user', content: userMessage(fields, doc.fileName, pages.length, chunk) },
            ],
            jsonSchema: { name: 'doc_extraction', schema },
            temperature: 0,
          });
          return (answer.json ?? {}) as Answer;
        }),
      );

      const squashed = new Map(pages.map((p) => [p.page, squash(p.text)]));
      const pagesOf = (cs: readonly Chunk[]) => cs.flatMap((c) => c.parts.map((p) => p.page));
      const skipped = pagesOf(chunks.filter((c) => !sent.includes(c)));
      const result = pick(answers.map((a) => a[fieldKey(ctx.column)]), squashed, doc);
      return {
        value: result.value,
        metadata: {
          ...(result.confidence !== undefined ? { confidence: result.confidence, confidenceSource: 'verified_quotes' } : {}),
          sources: result.sources,
          documentPages: pages.length,
          pagesSent: pageRanges(pagesOf(sent)),
          ...(skipped.length ? { pagesSkipped: pageRanges(skipped) } : {}),
          ...(result.dropped ? { unverifiedQuotes: result.dropped } : {}),
        },
      };
    },
  };
}

/** The raw column holding the document: `sourceColumnId`, else the first raw column whose cell links a datasource. */
function sourceColumn(ctx: ExecutionContext, column: ColumnRecord): ColumnRecord {
  const ref = column.metadata.sourceColumnId;
  if (typeof ref === 'string') {
    const named = ctx.columns.find((c) => c.id === ref) ?? ctx.columns.find((c) => c.name === ref);
    if (!named) throw new CellError('NO_DOCUMENT', `sourceColumnId ${ref} is not a column of this dataset`);
    return named;
  }
  const found = ctx.columns.find((c) => c.taskType === 'raw' && isLink(ctx.row[c.id])) ?? ctx.columns.find((c) => c.taskType === 'raw');
  if (!found) throw new CellError('NO_DOCUMENT', 'This dataset has no raw column holding a document');
  return found;
}

const isLink = (v: unknown) => typeof v === 'object' && v !== null && typeof (v as { datasourceId?: unknown }).datasourceId === 'string';
const fieldKey = (c: ColumnRecord) => c.id;

/** The doc_extraction columns answered by the same call as `ctx.column` (see the executor's comment). */
function siblings(ctx: ExecutionContext, source: ColumnRecord, modelId: string, ocr: string): ColumnRecord[] {
  const rawOnly = (c: ColumnRecord) => c.dependsOn.every((id) => ctx.columns.find((d) => d.id === id)?.taskType === 'raw');
  if (!rawOnly(ctx.column)) return [ctx.column];
  return ctx.columns.filter((c) => {
    if (c.taskType !== 'doc_extraction' || !rawOnly(c)) return false;
    if (c.id === ctx.column.id) return true;
    try {
      return sourceColumn(ctx, c).id === source.id && String(c.metadata.model ?? ctx.defaultModel) === modelId && String(c.metadata.ocr ?? 'auto') === ocr;
    } catch {
      return false;
    }
  });
}

function field(ctx: ExecutionContext, c: ColumnRecord): Field {
  const template = typeof c.metadata.extractionPrompt === 'string' ? c.metadata.extractionPrompt : `Extract the ${c.name} from the document.`;
  const rendered = renderTemplate(template, (ref) => (ref in ctx.row ? valueText(ctx.row[ref]) : undefined));
  const row = readsRow(c) ? rowContext({ column: c, columns: ctx.columns, row: ctx.row }) : '';
  const prompt = row ? `${rendered}\nRow:\n${row}` : rendered;
  const schema = c.metadata.outputSchema as Record<string, unknown> | undefined;
  return { key: fieldKey(c), name: c.name, prompt, ...(schema ? { schema } : {}) };
}

function answerSchema(fields: readonly Field[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const f of fields) {
    properties[f.key] = {
      type: 'object',
      properties: {
        value: f.schema ? { anyOf: [f.schema, { type: 'null' }] } : { type: ['string', 'null'] },
        sources: {
          type: 'array',
          items: { type: 'object', properties: { page: { type: 'integer' }, quote: { type: 'string' } }, required: ['page', 'quote'], additionalProperties: false },
        },
      },
      required: ['value', 'sources'],
      additionalProperties: false,
    };
  }
  return { type: 'object', properties, required: fields.map((f) => f.key), additionalProperties: false };
}

function userMessage(fields: readonly Field[], fileName: string, pageCount: number, chunk: Chunk): string {
  const list = fields.map((f) => `- ${f.key} ("${f.name}"): ${f.prompt}`).join('\n');
  const first = chunk.parts[0]!.page;
  const last = chunk.parts.at(-1)!.page;
  const body = chunk.parts.map((p) => `<page number="${p.page}">\n${p.text}\n</page>`).join('\n');
  return `Fields to extract:\n${list}\n\nDocument "${fileName}", pages ${first}-${last} of ${pageCount}:\n${body}`;
}

/**
 * The value for one field from the chunks' answers, in document order: the first non-empty value
 * backed by a verified quote, else the first non-empty value at all (with low confidence). Quotes
 * that are not on their page (nor on exactly one other page, which is then cited instead) are dropped.
 */
function pick(candidates: readonly (Answer[string] | undefined)[], pages: ReadonlyMap<number, string>, doc: DatasourceRecord): { value: unknown; confidence?: number; sources: Source[]; dropped: number } {
  let fallback: { value: unknown; confidence?: number; sources: Source[]; dropped: number } | undefined;
  for (const c of candidates) {
    if (!c || c.value === null || c.value === undefined || c.value === '') continue;
    const claimed = (Array.isArray(c.sources) ? c.sources : []).filter((s) => typeof s?.quote === 'string' && s.quote.trim());
    const sources: Source[] = [];
    for (const s of claimed) {
      const quote = (s.quote as string).trim();
      const page = locateQuote(quote, Number(s.page), pages);
      if (page !== undefined && !sources.some((x) => x.page === page && x.quote === quote)) sources.push({ type: 'document', datasourceId: doc.id, title: doc.fileName, page, quote });
    }
    const dropped = claimed.length - sources.length;
    // Evidence sets confidence: every quote verified is 1; each unverifiable quote lowers it; none at all is a guess.
    const confidence = sources.length ? Math.round((0.4 + 0.6 * (sources.length / claimed.length)) * 100) / 100 : claimed.length ? 0.2 : 0.3;
    const out = { value: c.value, confidence, sources, dropped };
    if (sources.length) return out;
    fallback ??= out;
  }
  return fallback ?? { value: null, sources: [], dropped: 0 };
}
