import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError, unwrap, type DatasetDetail, type TaskType } from '../../api/client';
import { Confirm } from '../../ui/dialog';
import { ErrorText } from '../../ui/states';
import { FIELDS, TASK_TYPES, toInput, toMetadata, type Field } from './task-types';
import { PromptEditor } from './prompt-editor';

type Props = { dataset: DatasetDetail; columnId: string | null; locked: boolean; onClose(): void; onSaved(): Promise<void> };

/**
 * Add or edit a column: name, task type (with a line on each), then the type's fields. The API's
 * validation issues are shown next to the field they name; what was typed stays on a failure.
 */
export function ColumnPanel({ dataset, columnId, locked, onClose, onSaved }: Props) {
  const column = columnId ? dataset.columns.find((c) => c.columnId === columnId) : undefined;
  const [name, setName] = useState(column?.name ?? '');
  const [taskType, setTaskType] = useState<TaskType>(column?.taskType ?? (dataset.type === 'extraction' ? 'doc_extraction' : 'ai_enrich'));
  const [form, setForm] = useState<Record<string, string | boolean>>(() => Object.fromEntries(FIELDS[column?.taskType ?? 'raw'].map((f) => [f.key, toInput(f, column?.metadata[f.key])])));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const [confirmType, setConfirmType] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const fields = FIELDS[taskType];
  const others = dataset.columns.filter((c) => c.columnId !== columnId);
  const typeChanged = Boolean(column && column.taskType !== taskType);

  const save = useMutation({
    mutationFn: async () => {
      const { metadata, errors } = toMetadata(fields, form);
      setLocalErrors(errors);
      if (Object.keys(errors).length) throw new ApiError(400, 'INVALID_PARAMETERS', 'Fix the marked fields.');
      const datasetId = dataset.datasetId;
      if (!column) return unwrap(api.POST('/api/v2/datasets/{datasetId}/columns', { params: { path: { datasetId } }, body: { name, taskType, metadata } }));
      const path = { datasetId, columnId: column.columnId };
      if (typeChanged) {
        const saved = await unwrap(api.PUT('/api/v2/datasets/{datasetId}/columns/{columnId}/task-type', { params: { path }, body: { taskType, metadata } }));
        if (name === column.name) return saved;
        return unwrap(api.PATCH('/api/v2/datasets/{datasetId}/columns/{columnId}', { params: { path }, body: { name } }));
      }
      // Keys the form emptied are removed (null), the rest merge.
      const removed = Object.fromEntries(Object.keys(column.metadata).filter((k) => fields.some((f) => f.key === k) && !(k in metadata)).map((k) => [k, null]));
      return unwrap(api.PATCH('/api/v2/datasets/{datasetId}/columns/{columnId}', { params: { path }, body: { ...(name !== column.name ? { name } : {}), metadata: { ...removed, ...metadata } } }));
    },
    onSuccess: async () => {
      await onSaved();
      onClose();
    },
  });
  const del = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v2/datasets/{datasetId}/columns/{columnId}', { params: { path: { datasetId: dataset.datasetId, columnId: columnId! } } })),
    onSuccess: async () => {
      await onSaved();
      onClose();
    },
  });

  const issues = save.error instanceof ApiError ? save.error.issues() : [];
  const issueFor = (key: string) => localErrors[key] ?? issues.find((i) => i.path === key || i.path.endsWith(`.${key}`))?.message;
  const placed = new Set(['name', 'taskType', ...fields.map((f) => f.key)]);
  const unplaced = issues.filter((i) => ![...placed].some((k) => i.path === k || i.path.endsWith(`.${k}`)));

  function submit(e: FormEvent) {
    e.preventDefault();
    if (typeChanged && !confirmType) return setConfirmType(true);
    save.mutate();
  }

  return (
    <aside className="side-panel" aria-label={column ? `Column ${column.name}` : 'New column'}>
      <header className="panel-head">
        <h2>{column ? `Column: ${column.name}` : 'New column'}</h2>
        <button type="button" className="icon" aria-label="Close panel" onClick={onClose}>
          ×
        </button>
      </header>
      <form onSubmit={submit} noValidate>
        <FieldRow id="col-name" label="Name" error={issueFor('name')}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
        </FieldRow>
        <fieldset className="task-types">
          <legend>Task type</legend>
          {TASK_TYPES.map((t) => (
            <label key={t.type} className={t.type === taskType ? 'task-type selected' : 'task-type'}>
              <input type="radio" name="taskType" value={t.type} checked={t.type === taskType} onChange={() => setTaskType(t.type)} />
              <span>
                <strong>{t.label}</strong> <span className="muted small">{t.description}</span>
              </span>
            </label>
          ))}
        </fieldset>
        {typeChanged && (
          <p className="warning" role="note">
            Changing the task type resets the column: every value in it is cleared.
          </p>
        )}
        {fields.map((f) => (
          <MetadataField key={f.key} field={f} value={form[f.key] ?? (f.kind === 'bool' ? false : '')} onChange={(v) => setForm((old) => ({ ...old, [f.key]: v }))} error={issueFor(f.key)} columns={others} />
        ))}
        {unplaced.map((i) => (
          <p key={i.path + i.message} className="error-text" role="alert">
            {i.path ? `${i.path}: ` : ''}
            {i.message}
          </p>
        ))}
        {save.error && !(save.error instanceof ApiError && save.error.code === 'INVALID_PARAMETERS') ? <ErrorText error={save.error} /> : null}
        {save.error instanceof ApiError && save.error.code === 'INVALID_PARAMETERS' && <p className="error-text">The column was not saved: fix the marked fields.</p>}
        <div className="actions">
          {column && (
            <button type="button" className="danger" onClick={() => setConfirmDelete(true)} disabled={locked}>
              Delete column
            </button>
          )}
          <button type="submit" className="primary" disabled={save.isPending || locked}>
            {column ? 'Save' : 'Add column'}
          </button>
        </div>
        {locked && <p className="muted small">The dataset is processing: changes wait until it is done.</p>}
      </form>
      {confirmType && (
        <Confirm
          title="Change task type?"
          danger
          confirmLabel="Change and reset"
          message={<p>Changing “{column?.name}” from {column?.taskType} to {taskType} clears every value in the column.</p>}
          onClose={() => setConfirmType(false)}
          onConfirm={() => {
            setConfirmType(false);
            save.mutate();
          }}
        />
      )}
      {confirmDelete && column && (
        <Confirm title="Delete column?" danger confirmLabel="Delete" busy={del.isPending} error={<ErrorText error={del.error} />} message={<p>Delete “{column.name}” and all its values? This cannot be undone.</p>} onClose={() => setConfirmDelete(false)} onConfirm={() => del.mutate()} />
      )}
    </aside>
  );
}

type InputProps = { id: string; 'aria-invalid'?: boolean; 'aria-describedby'?: string };

function FieldRow({ id, label, hint, error, children }: { id: string; label: string; hint?: string; error?: string; children: (p: InputProps) => React.ReactNode }) {
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
  return (
    <div className={error ? 'field has-error' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children({ id, ...(error ? { 'aria-invalid': true } : {}), ...(described ? { 'aria-describedby': described } : {}) })}
      {hint && (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={`${id}-error`} className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function MetadataField({ field, value, onChange, error, columns }: { field: Field; value: string | boolean; onChange(v: string | boolean): void; error?: string; columns: DatasetDetail['columns'] }) {
  const id = `col-${field.key}`;
  if (field.kind === 'bool')
    return (
      <div className={error ? 'field has-error' : 'field'}>
        <label className="check">
          <input type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} /> {field.label}
        </label>
        {error && <p className="field-error">{error}</p>}
      </div>
    );
  const text = typeof value === 'string' ? value : '';
  return (
    <FieldRow id={id} label={field.label + (field.required ? ' (required)' : '')} hint={field.hint} error={error}>
      {(p) => {
        if (field.kind === 'prompt') return <PromptEditor id={id} value={text} onChange={onChange} columnNames={columns.map((c) => c.name)} invalid={Boolean(error)} describedBy={p['aria-describedby']} />;
        if (field.kind === 'json' || field.kind === 'list') return <textarea {...p} rows={field.kind === 'json' ? 4 : 3} className="mono" value={text} onChange={(e) => onChange(e.target.value)} spellCheck={false} />;
        if (field.kind === 'column')
          return (
            <select {...p} value={text} onChange={(e) => onChange(e.target.value)}>
              <option value="">(default)</option>
              {columns.map((c) => (
                <option key={c.columnId} value={c.columnId}>
                  {c.name}
                </option>
              ))}
            </select>
          );
        if (field.kind === 'select')
          return (
            <select {...p} value={text} onChange={(e) => onChange(e.target.value)}>
              {field.options!.map((o) => (
                <option key={o} value={o}>
                  {o || '(default)'}
                </option>
              ))}
            </select>
          );
        return <input {...p} type={field.kind === 'number' ? 'number' : 'text'} step="any" value={text} onChange={(e) => onChange(e.target.value)} />;
      }}
    </FieldRow>
  );
}
