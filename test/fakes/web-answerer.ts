import type { FakeReply, RecordedRequest } from './fake-llm-server.ts';

/**
 * A `respond` function for the fake OpenAI server that plays the web_enrich model honestly: it
 * reads the question and the numbered pages from the prompt, picks the line (paragraph) sharing the most
 * words with the question, and answers with it, quoting it from its page. No matching line:
 * found false, confident it is not there (`notFoundConfidence`, 0.8). `invent` adds a quote that is on no page (a hallucination the executor must drop).
 */
export function webAnswerer(options: { invent?: boolean; confidence?: number; notFoundConfidence?: number } = {}) {
  return (req: RecordedRequest): FakeReply | undefined => {
    const format = req.body.response_format as { json_schema?: { name?: string } } | undefined;
    if (format?.json_schema?.name !== 'web_answer') return undefined;
    const user = [...(req.body.messages ?? [])].reverse().find((m) => m.role === 'user');
    const prompt = String(user?.content ?? '');
    const question = /^Question: (.*)$/m.exec(prompt)?.[1] ?? '';
    const words = [...new Set(question.toLowerCase().match(/[a-z0-9]{4,}/g) ?? [])].filter((w) => !['what', 'which', 'does', 'this', 'that', 'with', 'from', 'company'].includes(w));
    let best: { page: number; sentence: string; score: number } | undefined;
    for (const block of prompt.split(/\n\n(?=\[\d+\] )/)) {
      const m = /^\[(\d+)\] [^\n]*\nURL: [^\n]*\n---\n([\s\S]*)$/.exec(block.replace(/^[\s\S]*?Pages:\n\n/, ''));
      if (!m) continue;
      for (const sentence of m[2]!.split('\n')) {
        const s = sentence.replace(/^(#+|-|>) /, '').trim();
        const score = words.filter((w) => s.toLowerCase().includes(w)).length;
        if (s.length >= 8 && score > (best?.score ?? 0)) best = { page: Number(m[1]), sentence: s, score };
      }
    }
    if (!best) return { kind: 'json', value: { found: false, answer: null, quotes: [], confidence: options.notFoundConfidence ?? 0.8, reason: 'No page mentions it' } };
    const quotes = [{ page: best.page, quote: best.sentence }];
    if (options.invent) quotes.push({ page: best.page, quote: 'This sentence appears on no page at all.' });
    return { kind: 'json', value: { found: true, answer: best.sentence, quotes, confidence: options.confidence ?? 0.9, reason: '' } };
  };
}
