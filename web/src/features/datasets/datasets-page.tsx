import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap, type Dataset } from '../../api/client';
import { linkProps, navigate } from '../../router';
import { Confirm, Dialog } from '../../ui/dialog';
import { ListTable } from '../../ui/list-table';
import { QueryView } from '../../ui/query-view';
import { ErrorText } from '../../ui/states';
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
      <QueryView
        query={list}
        loading="Loading datasets…"
        isEmpty={(d) => d.datasets.length === 0}
        empty={
          filtered
            ? { title: 'No dataset matches these filters', body: <p>Change the filters to see more.</p> }
            : { title: 'No datasets yet', body: <p>Drop a CSV, TSV, JSON, JSONL or XLSX file above, or a few PDFs for an extraction dataset.</p> }
        }
      >
        {(data) => (
          <ListTable
            rows={data.datasets}
            rowKey={(d) => d.datasetId}
            paging={{ page, totalPages: data.pagination.totalPages, total: data.pagination.total, onPage: setPage }}
            columns={[
              { label: 'Name', cell: (d) => <a {...linkProps(`/datasets/${d.datasetId}`)}>{d.name}</a> },
              { label: 'Type', className: 'hide-narrow', cell: (d) => d.type },
              { label: 'Status', cell: (d) => <span className={`badge status-${d.status}`}>{d.status}</span> },
              { label: 'Rows', className: 'num', cell: (d) => d.rowCount.toLocaleString() },
              { label: 'Columns', className: 'num hide-narrow', cell: (d) => d.columnCount },
              { label: 'Updated', className: 'hide-narrow', cell: (d) => new Date(d.updatedAt).toLocaleString() },
              {
                label: 'Actions',
                hideLabel: true,
                cellClassName: 'row-actions',
                cell: (d) => (
                  <>
                    <button type="button" className="link" onClick={() => setRenaming(d)} aria-label={`Rename ${d.name}`}>
                      Rename
                    </button>
                    <button type="button" className="link danger" onClick={() => setDeleting(d)} aria-label={`Delete ${d.name}`}>
                      Delete
                    </button>
                  </>
                ),
              },
            ]}
          />
        )}
      </QueryView>
      {renaming && <RenameDialog dataset={renaming} onClose={() => setRenaming(null)} />}
      {deleting && <DeleteDialog dataset={deleting} onClose={() => setDeleting(null)} />}
      {creating && <CreateEmptyDialog onClose={() => setCreating(false)} />}
    </div>
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
