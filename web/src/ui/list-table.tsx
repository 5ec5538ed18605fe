import type { Key, ReactNode } from 'react';

export type ListColumn<R> = {
  /** The header's text (read by screen readers even when hidden). */
  label: string;
  /** Header shown to screen readers only (an actions column). */
  hideLabel?: boolean;
  /** Classes of the header and the cells: `num` (right-aligned), `hide-narrow` (hidden on phones). */
  className?: string;
  /** Classes of the cells only: `wrap` (long text wraps), `row-actions`. */
  cellClassName?: string;
  cell: (row: R) => ReactNode;
};

export type Paging = { page: number; totalPages: number; total: number; onPage: (page: number) => void };

/** The table of a list page (datasets, datasources, keys, webhooks), with a pager when paged. */
export function ListTable<R>({ rows, rowKey, columns, paging }: { rows: readonly R[]; rowKey: (row: R) => Key; columns: ListColumn<R>[]; paging?: Paging }) {
  const cls = (...names: (string | undefined)[]) => names.filter(Boolean).join(' ') || undefined;
  return (
    <>
      {/* On a phone a wide table scrolls inside its box, never the page sideways. */}
      <div className="list-scroll">
        <table className="list">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.label} scope="col" className={c.className}>
                  {c.hideLabel ? <span className="sr-only">{c.label}</span> : c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={rowKey(r)}>
                {columns.map((c) => (
                  <td key={c.label} className={cls(c.className, c.cellClassName)}>
                    {c.cell(r)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {paging && <Pager {...paging} />}
    </>
  );
}

export function Pager({ page, totalPages, total, onPage }: Paging) {
  return (
    <nav className="pager" aria-label="Pagination">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page} of {Math.max(1, totalPages)} · {total.toLocaleString()} in all
      </span>
      <button type="button" disabled={page >= totalPages} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}
