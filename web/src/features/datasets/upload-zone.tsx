import { useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type DragEvent } from 'react';
import { apiFetch, errorOf, type DatasetDetail } from '../../api/client';
import { navigate } from '../../router';
import { ErrorText } from '../../ui/states';

const TABULAR = /\.(csv|tsv|tab|json|jsonl|ndjson|xlsx)$/i;

/**
 * Drop one table file (CSV, TSV, JSON, JSONL, XLSX) for a tabular dataset, or several documents
 * for an extraction dataset (one row per document). A failed upload shows the server's message and code.
 */
export function UploadZone() {
  const client = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function upload(files: File[]) {
    if (!files.length) return;
    const tabular = files.length === 1 && TABULAR.test(files[0]!.name);
    const form = new FormData();
    form.append('name', tabular ? files[0]!.name.replace(/\.[^.]+$/, '') : `${files.length} document${files.length > 1 ? 's' : ''}`);
    if (tabular) {
      form.append('type', 'analysis');
      form.append('file', files[0]!);
    } else {
      form.append('type', 'extraction');
      for (const f of files) form.append('files[]', f);
    }
    setBusy(`Uploading ${files.length === 1 ? files[0]!.name : `${files.length} files`}…`);
    setError(null);
    try {
      const res = await apiFetch('/api/v2/datasets/upload', { method: 'POST', body: form });
      if (!res.ok) throw await errorOf(res);
      const d = (await res.json()) as DatasetDetail;
      void client.invalidateQueries({ queryKey: ['datasets'] });
      navigate(`/datasets/${d.datasetId}`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  }

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    void upload([...e.dataTransfer.files]);
  };
  return (
    <div className={over ? 'dropzone over' : 'dropzone'} onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={onDrop}>
      <p>
        <strong>Drop a file here</strong> (CSV, TSV, JSON, JSONL, XLSX) to make a table, or several documents (PDF, DOCX, HTML, TXT, images) for an extraction dataset.
      </p>
      <input ref={input} id="upload-input" type="file" multiple className="sr-only" aria-label="Upload files" tabIndex={-1} onChange={(e) => { void upload([...(e.target.files ?? [])]); e.target.value = ''; }} />
      <button type="button" onClick={() => input.current?.click()} disabled={Boolean(busy)}>
        Choose files…
      </button>
      {busy && (
        <p role="status">
          <span className="spinner" aria-hidden="true" /> {busy}
        </p>
      )}
      <ErrorText error={error} />
    </div>
  );
}
