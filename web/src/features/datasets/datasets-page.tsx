import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap, type Dataset } from '../../api/client';
import { linkProps, navigate } from '../../router';
import { Confirm, Dialog } from '../../ui/dialog';
import { Empty, ErrorState, ErrorText, Loading } from '../../ui/states';
import { UploadZone } from './upload-zone';

const TYPES = ['analysis', 'classification', 'extraction'] as const;
const STATUSES = ['processing', 'completed', 'failed'] as const;
const LIMIT = 20;

export function DatasetsPage() {
  const [type, setType] = useState('');
  const [status, setStatus] = useState('');
  const [page, setPage] = useState(1);
  const [renaming, setRenaming] = useState<Dataset | null>(null);
  const [deleting, setDeleting] = useState<Dataset | null>(null);
  const [creating, setCreating] = useState(false);
  const query = { page, limit: LIMIT, ...(type ? { type: type as (typeof TYPES)[number] } : {}), ...(status ? { status: status as (typeof STATUSES)[number] } : {}) };
  const list = useQuery({
    queryKey: ['datasets', query],
    queryFn: () => unwrap(api.GET('/api/v2/datasets', { params: { query } })),
    placeholderData: keepPreviousData,
  });
  const filtered = Boolean(type || status);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Datasets</h1>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New empty table
        </button>
      </div>
      <UploadZone />
      <div className="filters" role="group" aria-label="Filters">
        <label>
          Type{' '}
          <select value={type} onChange={(e) => { setType(e.target.value); setPage(1); }}>
            <option value="">All</option>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Status{' '}
          <select value={status} onChange={(e) => { setStatus(e.target.value); setPage(1); }}>
            <option value="">All</option>
            {STATUSES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
      </div>
      {list.isPending ? (
        <Loading label="Loading datasets…" />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : list.data.datasets.length === 0 ? (
        <Empty title={filtered ? 'No dataset matches these filters' : 'No datasets yet'}>
          <p>{filtered ? 'Change the filters to see more.' : 'Drop a CSV, TSV, JSON, JSONL or XLSX file above, or a few PDFs for an extraction dataset.'}</p>
        </Empty>
      ) : (
        <>
          <table className="list">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">Rows</th>
                <th scope="col" className="num">Columns</th>
                <th scope="col" className="hide-narrow">Updated</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.datasets.map((d) => (
                <tr key={d.datasetId}>
                  <td>
                    <a {...linkProps(`/datasets/${d.datasetId}`)}>{d.name}</a>
                  </td>
                  <td>{d.type}</td>
                  <td>
                    <span className={`badge status-${d.status}`}>{d.status}</span>
                  </td>
                  <td className="num">{d.rowCount.toLocaleString()}</td>
                  <td className="num">{d.columnCount}</td>
                  <td className="hide-narrow">{new Date(d.updatedAt).toLocaleString()}</td>
                  <td className="row-actions">
                    <button type="button" className="link" onClick={() => setRenaming(d)} aria-label={`Rename ${d.name}`}>
                      Rename
                    </button>
                    <button type="button" className="link danger" onClick={() => setDeleting(d)} aria-label={`Delete ${d.name}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} totalPages={list.data.pagination.totalPages} total={list.data.pagination.total} onPage={setPage} />
        </>
      )}
      {renaming && <RenameDialog dataset={renaming} onClose={() => setRenaming(null)} />}
      {deleting && <DeleteDialog dataset={deleting} onClose={() => setDeleting(null)} />}
      {creating && <CreateEmptyDialog onClose={() => setCreating(false)} />}
    </div>
  );
}

export function Pager({ page, totalPages, total, onPage }: { page: number; totalPages: number; total: number; onPage: (p: number) => void }) {
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

function RenameDialog({ dataset, onClose }: { dataset: Dataset; onClose: () => void }) {
  const client = useQueryClient();
  const [name, setName] = useState(dataset.name);
  const save = useMutation({
    mutationFn: () => unwrap(api.PATCH('/api/v2/datasets/{datasetId}', { params: { path: { datasetId: dataset.datasetId } }, body: { name } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['datasets'] });
      void client.invalidateQueries({ queryKey: ['dataset', dataset.datasetId] });
      onClose();
    },
  });
  return (
    <Dialog title="Rename dataset" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
        <label htmlFor="rename-name">Name</label>
        <input id="rename-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
        <ErrorText error={save.error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={save.isPending}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteDialog({ dataset, onClose }: { dataset: Dataset; onClose: () => void }) {
  const client = useQueryClient();
  const del = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v2/datasets/{datasetId}', { params: { path: { datasetId: dataset.datasetId }, query: { force: dataset.status === 'processing' ? 'true' : undefined } as never } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['datasets'] });
      onClose();
    },
  });
  return (
    <Confirm
      title="Delete dataset"
      danger
      confirmLabel="Delete"
      busy={del.isPending}
      onClose={onClose}
      onConfirm={() => del.mutate()}
      error={<ErrorText error={del.error} />}
      message={
        <p>
          Delete <strong>{dataset.name}</strong> with its {dataset.rowCount.toLocaleString()} rows, tasks and exports? This cannot be undone.
          {dataset.status === 'processing' && ' Its running task will be cancelled.'}
        </p>
      }
    />
  );
}

function CreateEmptyDialog({ onClose }: { onClose: () => void }) {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [type, setType] = useState<'analysis' | 'classification' | 'extraction'>('analysis');
  const [columns, setColumns] = useState('Name');
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/api/v2/datasets', {
          body: { name, type, columns: columns.split(',').map((c) => c.trim()).filter(Boolean).map((c) => ({ name: c, taskType: 'raw' as const })) },
        }),
      ),
    onSuccess: (d) => {
      void client.invalidateQueries({ queryKey: ['datasets'] });
      navigate(`/datasets/${d.datasetId}`);
    },
  });
  return (
    <Dialog title="New empty table" onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); create.mutate(); }}>
        <label htmlFor="new-name">Name</label>
        <input id="new-name" value={name} onChange={(e) => setName(e.target.value)} autoFocus required />
        <label htmlFor="new-type">Type</label>
        <select id="new-type" value={type} onChange={(e) => setType(e.target.value as typeof type)}>
          {TYPES.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        <label htmlFor="new-columns">Columns (comma-separated)</label>
        <input id="new-columns" value={columns} onChange={(e) => setColumns(e.target.value)} />
        <ErrorText error={create.error} />
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={create.isPending}>
            Create
          </button>
        </div>
      </form>
    </Dialog>
  );
}
