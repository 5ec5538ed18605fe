import type { FakeReply, RecordedRequest } from '../fakes/openai-server.ts';

/** The fields and pages of a doc_extraction request, read back from its user message. */
export function parseDocRequest(req: RecordedRequest): { fields: { key: string; name: string; prompt: string }[]; pages: { page: number; text: string }[] } | undefined {
  const user = req.body.messages?.find((m) => m.role === 'user')?.content;
  if (typeof user !== 'string' || !user.startsWith('Fields to extract:')) return undefined;
  const fields = [...user.matchAll(/^- (col_\w+) \("(.+?)"\): (.*)$/gm)].map((m) => ({ key: m[1]!, name: m[2]!, prompt: m[3]! }));
  const pages = [...user.matchAll(/<page number="(\d+)">\n([\s\S]*?)\n<\/page>/g)].map((m) => ({ page: Number(m[1]), text: m[2]! }));
  return { fields, pages };
}

/**
 * A scripted model for doc_extraction: for each field, `find` looks at the pages it was sent and
 * says what it "read" (value, the page it cites, the quote). Undefined from `find` answers null.
 */
export function docAnswer(find: (field: { name: string; prompt: string }, pages: { page: number; text: string }[]) => { value: unknown; page: number; quote: string }[] | { value: unknown; page: number; quote: string } | undefined) {
  return (req: RecordedRequest): FakeReply | undefined => {
    const parsed = parseDocRequest(req);
    if (!parsed) return undefined;
    const value: Record<string, unknown> = {};
    for (const f of parsed.fields) {
      const found = find(f, parsed.pages);
      const list = found === undefined ? [] : Array.isArray(found) ? found : [found];
      value[f.key] = list.length ? { value: list[0]!.value, sources: list.map((x) => ({ page: x.page, quote: x.quote })) } : { value: null, sources: [] };
    }
    return { kind: 'json', value };
  };
}

/** The first page where `pattern` matches, as a citation of the whole match (group 1 is the value). */
export function cite(pages: { page: number; text: string }[], pattern: RegExp): { value: string; page: number; quote: string } | undefined {
  for (const p of pages) {
    const m = p.text.match(pattern);
    if (m) return { value: m[1] ?? m[0], page: p.page, quote: m[0] };
  }
  return undefined;
}
