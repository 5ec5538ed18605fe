import { useId, useRef, useState, type KeyboardEvent } from 'react';

type Props = { id: string; value: string; onChange(v: string): void; columnNames: string[]; invalid?: boolean; describedBy?: string; rows?: number };

/**
 * A prompt textarea where `{{Column}}` references are highlighted (known ones in the accent colour,
 * unknown ones in red) and typing `{{` offers the dataset's columns. The highlight is a text layer
 * under a transparent textarea: both use the same font and wrapping, so they line up.
 */
export function PromptEditor({ id, value, onChange, columnNames, invalid, describedBy, rows = 4 }: Props) {
  const area = useRef<HTMLTextAreaElement>(null);
  const backdrop = useRef<HTMLDivElement>(null);
  const listId = useId();
  const [suggest, setSuggest] = useState<{ start: number; items: string[]; active: number } | null>(null);

  function update(text: string, caret: number) {
    onChange(text);
    const before = text.slice(0, caret);
    const m = before.match(/\{\{([^{}]*)$/);
    if (!m) return setSuggest(null);
    const q = m[1]!.toLowerCase();
    const items = columnNames.filter((n) => n.toLowerCase().includes(q)).slice(0, 8);
    setSuggest(items.length ? { start: caret - m[1]!.length, items, active: 0 } : null);
  }

  function choose(name: string) {
    const el = area.current;
    if (!el || !suggest) return;
    const caret = el.selectionStart;
    const after = value.slice(caret).replace(/^[^{}]*\}\}/, '');
    const text = value.slice(0, suggest.start) + name + '}}' + after;
    onChange(text);
    setSuggest(null);
    const pos = suggest.start + name.length + 2;
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(pos, pos);
    });
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (!suggest) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = suggest.items.length;
      setSuggest({ ...suggest, active: (suggest.active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n });
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      choose(suggest.items[suggest.active]!);
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      setSuggest(null);
    }
  }

  const known = new Set(columnNames);
  const parts = value.split(/(\{\{[^{}]*\}\})/g);
  return (
    <div className="prompt-editor">
      <div className="prompt-backdrop" ref={backdrop} aria-hidden="true">
        {parts.map((p, i) => {
          const ref = p.match(/^\{\{\s*([^{}]*?)\s*\}\}$/);
          if (!ref) return <span key={i}>{p}</span>;
          return (
            <mark key={i} className={known.has(ref[1]!) || /^col_\w+$/.test(ref[1]!) ? 'ref' : 'ref unknown'}>
              {p}
            </mark>
          );
        })}
        {'\n'}
      </div>
      <textarea
        ref={area}
        id={id}
        rows={rows}
        value={value}
        spellCheck={false}
        aria-invalid={invalid || undefined}
        aria-describedby={describedBy}
        aria-autocomplete="list"
        aria-controls={suggest ? listId : undefined}
        onChange={(e) => update(e.target.value, e.target.selectionStart)}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => setSuggest(null), 150)}
        onScroll={(e) => {
          if (backdrop.current) backdrop.current.scrollTop = e.currentTarget.scrollTop;
        }}
      />
      {suggest && (
        <ul className="suggest" role="listbox" id={listId} aria-label="Columns">
          {suggest.items.map((name, i) => (
            <li key={name} role="option" aria-selected={i === suggest.active} onMouseDown={(e) => { e.preventDefault(); choose(name); }}>
              {name}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
