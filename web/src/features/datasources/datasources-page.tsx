import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { Empty, ErrorState, ErrorText, Loading } from '../../ui/states';
import { Pager } from '../datasets/datasets-page';

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
      {list.isPending ? (
        <Loading />
      ) : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : list.data.dataSources.length === 0 ? (
        <Empty title="No datasources">
          <p>Files you upload (tables and documents) appear here.</p>
        </Empty>
      ) : (
        <>
          <table className="list">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">Pages / rows</th>
                <th scope="col" className="num hide-narrow">Size</th>
                <th scope="col" className="hide-narrow">Uploaded</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.dataSources.map((s) => (
                <tr key={s.datasourceId}>
                  <td className="wrap">{s.fileName}</td>
                  <td>
                    <span className={`badge status-${s.status}`}>{s.status}</span>
                    {s.error ? <span className="error-text small"> {s.error}</span> : null}
                  </td>
                  <td className="num">{s.pageCount ?? s.rowCount ?? '–'}</td>
                  <td className="num hide-narrow">{(s.fileSize / 1024).toFixed(1)} KB</td>
                  <td className="hide-narrow">{new Date(s.uploadedAt).toLocaleString()}</td>
                  <td>
                    <button type="button" className="link" onClick={() => download.mutate(s.datasourceId)} aria-label={`Download ${s.fileName}`}>
                      Download
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} totalPages={list.data.pagination.totalPages} total={list.data.pagination.total} onPage={setPage} />
        </>
      )}
    </div>
  );
}
