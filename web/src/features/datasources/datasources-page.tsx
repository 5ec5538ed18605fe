import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { ListTable } from '../../ui/list-table';
import { QueryView } from '../../ui/query-view';
import { ErrorText } from '../../ui/states';

/** Every uploaded file: status, pages, and a signed download of the original. */
export function DatasourcesPage() {
  const [page, setPage] = useState(1);
  const [status, setStatus] = useState('');
  const query = { page, limit: 20, ...(status ? { status } : {}) } as never;
  const list = useQuery({ queryKey: ['datasources', page, status], queryFn: () => unwrap(api.GET('/api/v2/datasources', { params: { query } })), placeholderData: keepPreviousData });
  const download = useMutation({
    mutationFn: (datasourceId: string) => unwrap(api.POST('/api/v2/datasources/{datasourceId}/download', { params: { path: { datasourceId } }, body: { expiresIn: 3600 } })),
    onSuccess: (link) => {
      const a = document.createElement('a');
      a.href = link.downloadUrl;
      a.rel = 'noopener noreferrer';
      document.body.append(a);
      a.click();
      a.remove();
    },
  });
  return (
    <div className="page">
      <div className="page-head">
        <h1>Datasources</h1>
      </div>
      <div className="filters">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => { setStatus(e.target.value); setPage(1); }}>
            <option value="">All</option>
            <option>processing</option>
            <option>completed</option>
            <option>failed</option>
          </select>
        </label>
      </div>
      <ErrorText error={download.error} />
      <QueryView query={list} loading="Loading datasources…" isEmpty={(d) => d.dataSources.length === 0} empty={{ title: 'No datasources', body: <p>Files you upload (tables and documents) appear here.</p> }}>
        {(data) => (
          <ListTable
            rows={data.dataSources}
            rowKey={(s) => s.datasourceId}
            paging={{ page, totalPages: data.pagination.totalPages, total: data.pagination.total, onPage: setPage }}
            columns={[
              { label: 'File', cellClassName: 'wrap', cell: (s) => s.fileName },
              {
                label: 'Status',
                cell: (s) => (
                  <>
                    <span className={`badge status-${s.status}`}>{s.status}</span>
                    {s.error ? <span className="error-text small"> {s.error}</span> : null}
                  </>
                ),
              },
              { label: 'Pages / rows', className: 'num', cell: (s) => s.pageCount ?? s.rowCount ?? '–' },
              { label: 'Size', className: 'num hide-narrow', cell: (s) => `${(s.fileSize / 1024).toFixed(1)} KB` },
              { label: 'Uploaded', className: 'hide-narrow', cell: (s) => new Date(s.uploadedAt).toLocaleString() },
              {
                label: 'Actions',
                hideLabel: true,
                cell: (s) => (
                  <button type="button" className="link" onClick={() => download.mutate(s.datasourceId)} aria-label={`Download ${s.fileName}`}>
                    Download
                  </button>
                ),
              },
            ]}
          />
        )}
      </QueryView>
    </div>
  );
}
