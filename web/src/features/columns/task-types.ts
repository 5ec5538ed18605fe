import type { TaskType } from '../../api/client';

/** The six task types with the one line the panel shows for each. */
export const TASK_TYPES: { type: TaskType; label: string; description: string }[] = [
  { type: 'raw', label: 'Raw', description: 'Values you type, import or link; the input of the other columns.' },
  { type: 'ai_enrich', label: 'AI enrich', description: 'An LLM answers a prompt for each row, as text or JSON.' },
  { type: 'classification', label: 'Classification', description: 'Puts each row into one of your categories (or yes/no).' },
  { type: 'web_enrich', label: 'Web enrich', description: 'Reads the row’s website or a web search, answers with quoted sources.' },
  { type: 'doc_extraction', label: 'Document extraction', description: 'Extracts a value from the row’s document, citing page and quote.' },
  { type: 'places_count', label: 'Places count', description: 'Counts map places (e.g. coffee shops) around the row’s coordinates.' },
];

export type FieldKind = 'prompt' | 'text' | 'number' | 'json' | 'list' | 'bool' | 'column' | 'select';
export type Field = { key: string; label: string; kind: FieldKind; hint?: string; options?: string[]; required?: boolean };

const model: Field = { key: 'model', label: 'Model', kind: 'text', hint: 'provider:model, e.g. openai:gpt-4o-mini (empty: the server default)' };
const confidence: Field = { key: 'confidence', label: 'Review threshold', kind: 'number', hint: 'cells with a confidence below it (0 to 1) are marked “needs review”' };

/** The metadata fields of each task type, in the order the panel shows them. */
export const FIELDS: Record<TaskType, Field[]> = {
  raw: [],
  ai_enrich: [
    { key: 'prompt', label: 'Prompt', kind: 'prompt', required: true, hint: 'type {{ to insert a column' },
    model,
    { key: 'outputSchema', label: 'Output schema', kind: 'json', hint: 'optional JSON Schema: the value becomes JSON' },
    { key: 'temperature', label: 'Temperature', kind: 'number' },
    confidence,
  ],
  classification: [
    { key: 'prompt', label: 'Prompt', kind: 'prompt', hint: 'type {{ to insert a column' },
    { key: 'categories', label: 'Categories', kind: 'list', hint: 'one per line; none means yes/no' },
    { key: 'multiLabel', label: 'Several categories per row (multi-label)', kind: 'bool' },
    model,
    confidence,
  ],
  web_enrich: [
    { key: 'prompt', label: 'Prompt', kind: 'prompt', hint: 'what to find out; default from the column name' },
    { key: 'urlColumnId', label: 'URL column', kind: 'column' },
    { key: 'query', label: 'Search query', kind: 'prompt', hint: 'used when the row has no URL, e.g. {{Company}} headquarters' },
    { key: 'maxPages', label: 'Max pages', kind: 'number', hint: '1 to 10 (default 3)' },
    model,
    confidence,
  ],
  doc_extraction: [
    { key: 'extractionPrompt', label: 'Extraction prompt', kind: 'prompt', hint: 'default from the column name' },
    { key: 'sourceColumnId', label: 'Source column', kind: 'column', hint: 'the raw column holding the document (default: the first)' },
    { key: 'outputSchema', label: 'Output schema', kind: 'json' },
    { key: 'ocr', label: 'OCR', kind: 'select', options: ['', 'auto', 'always', 'never'] },
    model,
    confidence,
  ],
  places_count: [
    { key: 'prompt', label: 'What to count', kind: 'prompt', required: true, hint: 'e.g. coffee shops' },
    { key: 'latitudeColumnId', label: 'Latitude column', kind: 'column' },
    { key: 'longitudeColumnId', label: 'Longitude column', kind: 'column' },
    { key: 'coordinatesColumnId', label: 'Coordinates column ("lat,lng")', kind: 'column' },
    { key: 'radiusMeters', label: 'Radius (metres)', kind: 'number', hint: 'default 1000, at most 50000' },
    { key: 'tags', label: 'OpenStreetMap tags', kind: 'json', hint: 'e.g. {"amenity": "cafe"}' },
    { key: 'provider', label: 'Provider', kind: 'select', options: ['', 'local', 'overpass'] },
  ],
};

/** Form text for a metadata value. */
export function toInput(field: Field, value: unknown): string | boolean {
  if (field.kind === 'bool') return value === true;
  if (value === undefined || value === null) return '';
  if (field.kind === 'json') return JSON.stringify(value, null, 2);
  if (field.kind === 'list') return Array.isArray(value) ? value.join('\n') : '';
  return String(value);
}

/** Metadata from the form; a JSON field that does not parse is reported by key, not sent. */
export function toMetadata(fields: Field[], form: Record<string, string | boolean>): { metadata: Record<string, unknown>; errors: Record<string, string> } {
  const metadata: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const v = form[f.key];
    if (f.kind === 'bool') {
      if (v === true) metadata[f.key] = true;
      continue;
    }
    const s = typeof v === 'string' ? v.trim() : '';
    if (!s) continue;
    if (f.kind === 'number') metadata[f.key] = Number.isFinite(Number(s)) ? Number(s) : s;
    else if (f.kind === 'list') metadata[f.key] = s.split('\n').map((x) => x.trim()).filter(Boolean);
    else if (f.kind === 'json') {
      try {
        metadata[f.key] = JSON.parse(s);
      } catch {
        errors[f.key] = 'not valid JSON';
      }
    } else metadata[f.key] = typeof v === 'string' ? v : s;
  }
  return { metadata, errors };
}
