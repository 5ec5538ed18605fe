import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { SafeLink } from '../../ui/safe-link';

type Source = { type?: string; url?: unknown; title?: unknown; quote?: unknown; page?: unknown; datasourceId?: unknown; provider?: unknown; tags?: unknown; sample?: unknown };
const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

/**
 * A cell's sources, per kind. All of it is text written by whoever wrote the source. A map source
 * names its provider; the tags and the sample of places it counted are in the cell's metadata
 * (`metadata`), shown with it.
 */
export function Sources({ sources, metadata = {} }: { sources: unknown; metadata?: Record<string, unknown> }) {
  if (!Array.isArray(sources) || sources.length === 0) return null;
  return (
    <section aria-label="Sources">
      <h3>Sources</h3>
      <ol className="sources">
        {(sources as Source[]).map((s, i) => (
          <li key={i} className={`source source-${str(s.type)}`}>
            {s.type === 'web' && (
              <>
                <SafeLink url={s.url}>{str(s.title) || str(s.url)}</SafeLink>
                {s.quote ? <blockquote>{str(s.quote)}</blockquote> : null}
              </>
            )}
            {s.type === 'document' && <DocumentSource source={s} />}
            {s.type === 'map' && <MapSource source={s} tags={s.tags ?? metadata.tags} sample={s.sample ?? metadata.sample} radius={metadata.radiusMeters} />}
            {s.type !== 'web' && s.type !== 'document' && s.type !== 'map' && <pre className="value">{JSON.stringify(s, null, 2)}</pre>}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** A count over map data: provider (and attribution), the tags counted, the radius, the nearest places. */
function MapSource({ source, tags, sample, radius }: { source: Source; tags: unknown; sample: unknown; radius: unknown }) {
  // Tags are [{key: value}, ...] (any one matches), a value `true` meaning any value of the key.
  const tagText = (Array.isArray(tags) ? tags : tags ? [tags] : [])
    .flatMap((t) => (t && typeof t === 'object' ? Object.entries(t as Record<string, unknown>).map(([k, v]) => `${k}=${v === true ? '*' : str(v)}`) : [str(t)]))
    .join(' or ');
  const places = Array.isArray(sample) ? sample.map(str).filter(Boolean) : [];
  return (
    <>
      <strong>Map</strong>: {str(source.provider)}
      {source.title ? <span className="muted"> · {str(source.title)}</span> : null}
      <dl className="facts">
        {tagText && (
          <>
            <dt>Tags</dt>
            <dd data-testid="map-tags">{tagText}</dd>
          </>
        )}
        {typeof radius === 'number' && (
          <>
            <dt>Radius</dt>
            <dd>{radius.toLocaleString()} m</dd>
          </>
        )}
        {Array.isArray(sample) && (
          <>
            <dt>Sample</dt>
            <dd data-testid="map-sample">{places.length ? places.join(', ') : 'none nearby'}</dd>
          </>
        )}
      </dl>
    </>
  );
}

function DocumentSource({ source }: { source: Source }) {
  const [open, setOpen] = useState(true);
  const id = typeof source.datasourceId === 'string' ? source.datasourceId : undefined;
  const page = typeof source.page === 'number' ? source.page : undefined;
  const text = useQuery({
    queryKey: ['page-text', id, page],
    enabled: Boolean(id && page && open),
    queryFn: async () => {
      const res = await unwrap(api.GET('/api/v2/datasources/{datasourceId}/data', { params: { path: { datasourceId: id! }, query: { page: page!, limit: 1 } as never } }));
      return res.pages?.[0]?.text ?? '';
    },
    staleTime: Infinity,
  });
  const quote = str(source.quote);
  return (
    <>
      <strong>{str(source.title) || 'Document'}</strong>
      {page ? `, page ${page}` : ''}
      {quote && <blockquote>{quote}</blockquote>}
      {id && page ? (
        <details open={open} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
          <summary>Page {page} text</summary>
          {text.isSuccess ? <HighlightedText text={text.data} quote={quote} /> : text.isError ? <p className="error-text">Could not read the page.</p> : <p className="muted">Loading page…</p>}
        </details>
      ) : null}
    </>
  );
}

/** The page text with the quote marked: found exactly, or with whitespace differences ignored. */
export function HighlightedText({ text, quote }: { text: string; quote: string }) {
  const range = findQuote(text, quote);
  if (!range) return <pre className="page-text">{text}</pre>;
  return (
    <pre className="page-text">
      {text.slice(0, range[0])}
      <mark className="quote">{text.slice(range[0], range[1])}</mark>
      {text.slice(range[1])}
    </pre>
  );
}

function findQuote(text: string, quote: string): [number, number] | undefined {
  if (!quote.trim()) return undefined;
  const exact = text.indexOf(quote);
  if (exact >= 0) return [exact, exact + quote.length];
  const escaped = quote.trim().split(/\s+/).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const m = new RegExp(escaped.join('\\s+'), 'i').exec(text);
  return m ? [m.index, m.index + m[0].length] : undefined;
}
