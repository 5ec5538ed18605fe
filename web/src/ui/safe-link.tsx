import type { ReactNode } from 'react';

/** Only http(s) URLs become links; anything else (javascript:, data:, ...) is shown as text. */
export function safeHref(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

export function SafeLink({ url, children }: { url: unknown; children?: ReactNode }) {
  const href = safeHref(url);
  if (!href) return <span className="unsafe-url">{children ?? String(url ?? '')}</span>;
  return (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {children ?? href}
    </a>
  );
}
