import { readsRow } from '../dependencies.ts';
import { renderTemplate } from '../template.ts';
import type { TokenLogprob } from '../../providers/llm/llm.ts';
import { givesLogprobs, logprobConfidence, rowContext, valueText, type ExecutionContext, type Executor } from '../executor.ts';

/**
 * ai_enrich: the column's prompt rendered with the row; a prompt that references no column (or
 * `includeRow: true`) is sent with the row as context. With `outputSchema` the answer is JSON
 * validated by the provider (one re-ask on invalid output).
 *
 * Confidence comes from the one call, never a second one. The answer is always asked for as
 * `{value, confidence}` through structured output, the model rating its own answer, and with
 * token log-probabilities unless the provider is known not to give them (Anthropic):
 * - log-probabilities in the reply: the geometric mean of the probabilities of the tokens that
 *   spell `value` (valueConfidence), source `logprobs`;
 * - none (the provider does not give them, or an OpenAI-compatible server ignored the request):
 *   the stated rating, source `self_reported`.
 * So an OpenAI-compatible server that drops log-probabilities still gets a confidence on every
 * cell, in the same call; and the request does not depend on what a provider did before, so the
 * cache key and the estimate stay the same in every process.
 */
export const aiEnrich: Executor = {
  async execute(ctx: ExecutionContext) {
    const meta = ctx.column.metadata;
    const modelId = String(meta.model ?? ctx.defaultModel);
    const rendered = renderTemplate(String(meta.prompt ?? ctx.column.name), (ref) => (ref in ctx.row ? valueText(ctx.row[ref]) : undefined));
    const row = readsRow(ctx.column) ? rowContext(ctx) : '';
    const prompt = row ? `${rendered}\n\nRow:\n${row}` : rendered;
    const schema = meta.outputSchema as Record<string, unknown> | undefined;
    const wrapped = { type: 'object', properties: { value: schema ?? { type: 'string' }, confidence: { type: 'number', minimum: 0, maximum: 1 } }, required: ['value', 'confidence'], additionalProperties: false };
    const system = `You fill one cell of the spreadsheet column "${ctx.column.name}". Answer with JSON: "value" is the cell's value${schema ? ' matching its schema' : ' (text only: no preamble, no quotes)'}, "confidence" your confidence from 0 to 1 that it is right.`;
    const answer = await ctx.llm.complete(modelId, {
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: prompt },
      ],
      jsonSchema: { name: ctx.column.name, schema: wrapped },
      ...(typeof meta.temperature === 'number' ? { temperature: meta.temperature } : {}),
      // Only the chosen tokens' probabilities are used: no alternatives keeps the answer small.
      ...(givesLogprobs(modelId) ? { logprobs: true, topLogprobs: 0 } : {}),
    });
    const json = answer.json as { value?: unknown; confidence?: unknown } | undefined;
    const value = schema ? (json?.value ?? null) : typeof json?.value === 'string' ? json.value.trim() : valueText(json?.value);
    const fromLogprobs = answer.logprobs?.length ? valueConfidence(answer.text, answer.logprobs) : undefined;
    if (fromLogprobs !== undefined) return { value, metadata: { confidence: fromLogprobs, confidenceSource: 'logprobs' } };
    const stated = typeof json?.confidence === 'number' && Number.isFinite(json.confidence) ? Math.min(1, Math.max(0, json.confidence)) : undefined;
    return { value, metadata: stated === undefined ? {} : { confidence: stated, confidenceSource: 'self_reported' } };
  },
};

/**
 * logprobConfidence over the tokens that spell the answer's `value` in the JSON text (a string's
 * characters without its quotes; any other value as written): the tokens of the key, the stated
 * rating and the punctuation say nothing about the answer. A token straddling the value's edge
 * counts. Undefined when the tokens do not spell the text (some servers normalise whitespace) or
 * no value is found: the cell then falls back to the stated rating.
 */
export function valueConfidence(text: string, tokens: readonly TokenLogprob[]): number | undefined {
  const span = valueSpan(text);
  if (!span) return undefined;
  const picked: TokenLogprob[] = [];
  let offset = 0;
  for (const t of tokens) {
    const end = offset + t.token.length;
    if (end > span.start && offset < span.end) picked.push(t);
    offset = end;
  }
  if (offset !== text.length) return undefined;
  return logprobConfidence(picked);
}

/** Where the top-level `"value"` member's value is written in a JSON object text (strings: inside the quotes). */
export function valueSpan(text: string): { start: number; end: number } | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const close = stringEnd(text, i);
      if (close < 0) return undefined;
      if (depth === 1 && text.slice(i, close + 1) === '"value"') {
        let j = close + 1;
        while (/\s/.test(text[j] ?? '')) j++;
        if (text[j] !== ':') {
          i = close;
          continue;
        }
        j++;
        while (/\s/.test(text[j] ?? '')) j++;
        const end = jsonValueEnd(text, j);
        if (end <= j) return undefined;
        return text[j] === '"' ? { start: j + 1, end: end - 1 } : { start: j, end };
      }
      i = close;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
  }
  return undefined;
}

/** Index of the quote closing the string that opens at `open`; -1 when unterminated. */
function stringEnd(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/** End (exclusive) of the JSON value starting at `start`. */
function jsonValueEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      const close = stringEnd(text, i);
      if (close < 0) return -1;
      if (depth === 0) return close + 1;
      i = close;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      if (depth === 0) return i;
      if (--depth === 0) return i + 1;
    } else if (depth === 0 && (ch === ',' || /\s/.test(ch!))) return i;
  }
  return text.length;
}
