import { readsRow } from '../dependencies.ts';
import { renderTemplate } from '../template.ts';
import { givesLogprobs, logprobConfidence, rowContext, valueText, type ExecutionContext, type Executor } from '../executor.ts';

/**
 * ai_enrich: the column's prompt rendered with the row; a prompt that references no column (or
 * `includeRow: true`) is sent with the row as context. With `outputSchema` the answer is JSON
 * validated by the provider (one re-ask on invalid output).
 *
 * Confidence comes from the same call, never a second one: from token log-probabilities where the
 * provider gives them (`logprobs`, see logprobConfidence), else the model's own rating asked for
 * through structured output (`self_reported`): the answer is wrapped as {value, confidence}.
 */
export const aiEnrich: Executor = {
  async execute(ctx: ExecutionContext) {
    const meta = ctx.column.metadata;
    const modelId = String(meta.model ?? ctx.defaultModel);
    const rendered = renderTemplate(String(meta.prompt ?? ctx.column.name), (ref) => (ref in ctx.row ? valueText(ctx.row[ref]) : undefined));
    const row = readsRow(ctx.column) ? rowContext(ctx) : '';
    const prompt = row ? `${rendered}\n\nRow:\n${row}` : rendered;
    const schema = meta.outputSchema as Record<string, unknown> | undefined;
    const logprobs = givesLogprobs(modelId);
    const cell = `You fill one cell of the spreadsheet column "${ctx.column.name}".`;
    const wrapped = logprobs ? undefined : { type: 'object', properties: { value: schema ?? { type: 'string' }, confidence: { type: 'number', minimum: 0, maximum: 1 } }, required: ['value', 'confidence'], additionalProperties: false };
    const system = wrapped
      ? `${cell} Answer with JSON: "value" is the cell's value${schema ? ' matching its schema' : ' (text only: no preamble, no quotes)'}, "confidence" your confidence from 0 to 1 that it is right.`
      : schema
        ? `${cell} Answer with JSON matching the given schema.`
        : `${cell} Answer with the cell's value only: no preamble, no quotes, no explanation.`;
    const answer = await ctx.llm.complete(modelId, {
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: prompt },
      ],
      ...(wrapped ? { jsonSchema: { name: ctx.column.name, schema: wrapped } } : schema ? { jsonSchema: { name: ctx.column.name, schema } } : {}),
      ...(typeof meta.temperature === 'number' ? { temperature: meta.temperature } : {}),
      // Only the chosen tokens' probabilities are used: no alternatives keeps the answer small.
      ...(logprobs ? { logprobs: true, topLogprobs: 0 } : {}),
    });
    if (wrapped) {
      const json = answer.json as { value?: unknown; confidence?: unknown } | undefined;
      const value = schema ? (json?.value ?? null) : typeof json?.value === 'string' ? json.value.trim() : valueText(json?.value);
      const stated = typeof json?.confidence === 'number' && Number.isFinite(json.confidence) ? Math.min(1, Math.max(0, json.confidence)) : undefined;
      return { value, metadata: stated === undefined ? {} : { confidence: stated, confidenceSource: 'self_reported' } };
    }
    const confidence = logprobConfidence(answer.logprobs);
    const metadata = confidence === undefined ? {} : { confidence, confidenceSource: 'logprobs' };
    return { value: schema ? (answer.json ?? null) : answer.text.trim(), metadata };
  },
};
