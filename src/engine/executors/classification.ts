import type { TokenLogprob } from '../../providers/llm/llm.ts';
import { renderTemplate } from '../template.ts';
import { readsRow } from '../dependencies.ts';
import { CellError, rowContext, valueText, type ExecutionContext, type Executor } from '../executor.ts';

/**
 * classification: one of the column's categories (yes/no when absent), or several with multiLabel,
 * for the row (a prompt with references sends only those values, unless includeRow).
 * The answer is constrained by a JSON schema whose enum is the categories. Confidence comes from the
 * log-probability of the first token of each chosen label when the provider returns log-probabilities
 * (the least confident label for multi-label answers); otherwise from the `confidence` number the
 * model is asked to include, clamped to 0..1.
 */
export const classification: Executor = {
  async execute(ctx: ExecutionContext) {
    const meta = ctx.column.metadata;
    const categories = (meta.categories as string[] | undefined) ?? ['yes', 'no'];
    const multi = meta.multiLabel === true;
    // The row when the prompt references no column (or includeRow); else only the referenced values, in the question.
    const rowText = readsRow(ctx.column) ? rowContext(ctx) : '';
    const question = typeof meta.prompt === 'string' ? renderTemplate(meta.prompt, (ref) => (ref in ctx.row ? valueText(ctx.row[ref]) : undefined)) : `Classify this row for the column "${ctx.column.name}".`;
    const labelSchema = { type: 'string', enum: categories };
    const schema = {
      type: 'object',
      properties: { ...(multi ? { labels: { type: 'array', items: labelSchema } } : { label: labelSchema }), confidence: { type: 'number', minimum: 0, maximum: 1 } },
      required: [multi ? 'labels' : 'label', 'confidence'],
      additionalProperties: false,
    };
    const answer = await ctx.llm.complete(String(meta.model ?? ctx.defaultModel), {
      messages: [
        { role: 'system', content: `You classify spreadsheet rows. Categories: ${categories.map((c) => JSON.stringify(c)).join(', ')}.${multi ? ' Choose every category that applies.' : ' Choose exactly one.'} Include your confidence from 0 to 1.` },
        { role: 'user', content: rowText ? `${question}\n\nRow:\n${rowText}` : question },
      ],
      jsonSchema: { name: 'classification', schema },
      logprobs: true,
      temperature: 0,
    });
    const json = answer.json as { label?: string; labels?: string[]; confidence?: number } | undefined;
    const labels = multi ? json?.labels : json?.label !== undefined ? [json.label] : undefined;
    if (!labels || labels.some((l) => !categories.includes(l))) throw new CellError('LLM_INVALID_OUTPUT', `The model answered no valid category: ${answer.text.slice(0, 200)}`);
    const fromLogprobs = answer.logprobs?.length ? labelConfidence(answer.text, answer.logprobs, labels) : undefined;
    const stated = typeof json?.confidence === 'number' ? Math.min(1, Math.max(0, json.confidence)) : undefined;
    const confidence = fromLogprobs ?? stated;
    const value = multi ? [...new Set(labels)] : labels[0];
    return { value, metadata: confidence === undefined ? {} : { confidence, confidenceSource: fromLogprobs !== undefined ? 'logprobs' : 'self_reported' } };
  },
};

/** exp(logprob) of the token where each label's text starts in the answer; the lowest over labels. */
export function labelConfidence(text: string, tokens: readonly TokenLogprob[], labels: readonly string[]): number | undefined {
  const starts: number[] = [];
  let offset = 0;
  for (const t of tokens) {
    starts.push(offset);
    offset += t.token.length;
  }
  // Tokens that do not spell the text (some servers normalise whitespace) cannot be located reliably.
  if (offset !== text.length) return undefined;
  let min: number | undefined;
  let from = Math.max(0, text.search(/"labels?"/));
  for (const label of labels) {
    const at = text.indexOf(JSON.stringify(label), from);
    if (at < 0) return undefined;
    from = at + 1;
    let i = starts.length - 1;
    while (i > 0 && starts[i]! > at + 1) i--;
    const p = Math.exp(tokens[i]!.logprob);
    min = min === undefined ? p : Math.min(min, p);
  }
  return min === undefined ? undefined : Math.round(min * 1e4) / 1e4;
}
