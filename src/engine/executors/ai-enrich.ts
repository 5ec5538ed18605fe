import { renderTemplate } from '../template.ts';
import { valueText, type ExecutionContext, type Executor } from '../executor.ts';

/**
 * ai_enrich: the column's prompt rendered with the row. With `outputSchema` the answer is JSON
 * validated by the provider (one re-ask on invalid output) and gets confidence 1: it is well-formed
 * by construction. A free-text answer carries no signal of its own, so it gets no confidence (and
 * therefore never needsReview) rather than an invented number.
 */
export const aiEnrich: Executor = {
  async execute(ctx: ExecutionContext) {
    const meta = ctx.column.metadata;
    const prompt = renderTemplate(String(meta.prompt ?? ctx.column.name), (ref) => (ref in ctx.row ? valueText(ctx.row[ref]) : undefined));
    const schema = meta.outputSchema as Record<string, unknown> | undefined;
    const system = schema
      ? `You fill one cell of the spreadsheet column "${ctx.column.name}". Answer with JSON matching the given schema.`
      : `You fill one cell of the spreadsheet column "${ctx.column.name}". Answer with the cell's value only: no preamble, no quotes, no explanation.`;
    const answer = await ctx.llm.complete(String(meta.model ?? ctx.defaultModel), {
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: prompt },
      ],
      ...(schema ? { jsonSchema: { name: ctx.column.name, schema } } : {}),
      ...(typeof meta.temperature === 'number' ? { temperature: meta.temperature } : {}),
    });
    if (schema) return { value: answer.json ?? null, metadata: { confidence: 1 } };
    return { value: answer.text.trim() };
  },
};
