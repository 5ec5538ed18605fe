import { useEffect, useRef } from 'react';
import type { Column } from '../../api/client';
import type { SortKey } from './view-state';

/** Sorts, first to last: the second orders rows the first leaves tied, and so on. */
export function SortPanel({ columns, sort, onChange }: { columns: Column[]; sort: SortKey[]; onChange(sort: SortKey[]): void }) {
  const unused = columns.filter((c) => !sort.some((s) => s.columnId === c.columnId));
  const set = (i: number, patch: Partial<SortKey>) => onChange(sort.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const name = (id: string) => columns.find((c) => c.columnId === id)?.name ?? id;
  return (
    <section className="sort-panel" aria-label="Sort">
      {sort.length === 0 && <p className="muted small">Rows are in the order they were added.</p>}
      <div className="conditions">
        {sort.map((s, i) => (
          <div key={s.columnId} className="condition" role="group" aria-label={`Sort ${i + 1}: ${name(s.columnId)}`}>
            <span className="muted small">{i === 0 ? 'Sort by' : 'then by'}</span>
            <select aria-label={`Sort ${i + 1} column`} value={s.columnId} onChange={(e) => set(i, { columnId: e.target.value })}>
              {columns
                .filter((c) => c.columnId === s.columnId || !sort.some((x) => x.columnId === c.columnId))
                .map((c) => (
                  <option key={c.columnId} value={c.columnId}>
                    {c.name}
                  </option>
                ))}
            </select>
            <select aria-label={`Sort ${i + 1} direction`} value={s.direction} onChange={(e) => set(i, { direction: e.target.value as 'asc' | 'desc' })}>
              <option value="asc">ascending (A→Z, 1→9)</option>
              <option value="desc">descending (Z→A, 9→1)</option>
            </select>
            <button type="button" className="icon" aria-label={`Remove sort by ${name(s.columnId)}`} onClick={() => onChange(sort.filter((_, j) => j !== i))}>
              ×
            </button>
          </div>
        ))}
      </div>
      <div className="filter-actions">
        <button type="button" disabled={unused.length === 0} onClick={() => onChange([...sort, { columnId: unused[0]!.columnId, direction: 'asc' }])}>
          + Add sort
        </button>
        {sort.length > 0 && (
          <button type="button" className="link" onClick={() => onChange([])}>
            Clear sort
          </button>
        )}
      </div>
    </section>
  );
}

/** Where a header's sort stands: its direction and place among the sorts. */
export function sortOf(sort: SortKey[], columnId: string): { direction: 'asc' | 'desc'; index: number } | undefined {
  const index = sort.findIndex((s) => s.columnId === columnId);
  return index < 0 ? undefined : { direction: sort[index]!.direction, index };
}

export type HeaderMenuAction = 'asc' | 'desc' | 'then-asc' | 'then-desc' | 'unsort' | 'filter' | 'edit' | 'hide';

/**
 * The menu of a column header (its ▾, a right click, or Shift+F10 / the menu key on a cell): sort
 * this way, add it as a further sort, filter on it, edit it. A WAI-ARIA menu: arrow keys move,
 * Escape closes and gives focus back to the grid.
 */
export function HeaderMenu({ column, x, y, sort, canEdit, onAction, onClose }: { column: Column; x: number; y: number; sort: SortKey[]; canEdit: boolean; onAction(a: HeaderMenuAction): void; onClose(): void }) {
  const ref = useRef<HTMLDivElement>(null);
  const cur = sortOf(sort, column.columnId);
  const others = sort.some((s) => s.columnId !== column.columnId);
  const items: [HeaderMenuAction, string][] = [
    ['asc', 'Sort ascending'],
    ['desc', 'Sort descending'],
    ...(others && !cur ? ([['then-asc', 'Then by, ascending'], ['then-desc', 'Then by, descending']] as [HeaderMenuAction, string][]) : []),
    ...(cur ? ([['unsort', 'Remove from sort']] as [HeaderMenuAction, string][]) : []),
    ['filter', 'Filter on this column'],
    ['hide', 'Hide column'],
    ...(canEdit ? ([['edit', 'Edit column…']] as [HeaderMenuAction, string][]) : []),
  ];
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('[role=menuitem]')?.focus();
    const outside = (e: MouseEvent) => {
      if (!ref.current?.contains(e.target as Node)) close.current();
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, []);
  const onKeyDown = (e: React.KeyboardEvent) => {
    const all = [...(ref.current?.querySelectorAll<HTMLElement>('[role=menuitem]') ?? [])];
    const i = all.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      all[(i + (e.key === 'ArrowDown' ? 1 : all.length - 1)) % all.length]?.focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      all[e.key === 'Home' ? 0 : all.length - 1]?.focus();
    } else if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      onClose();
    }
  };
  const left = Math.max(4, Math.min(x, window.innerWidth - 230));
  return (
    <div ref={ref} className="header-menu" role="menu" aria-label={`Column ${column.name}`} style={{ left, top: y }} onKeyDown={onKeyDown}>
      {items.map(([a, label]) => (
        <button key={a} type="button" role="menuitem" tabIndex={-1} onClick={() => onAction(a)}>
          {label}
          {(a === 'asc' || a === 'desc') && cur?.direction === a ? ' ✓' : ''}
        </button>
      ))}
    </div>
  );
}
