import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { ApiError, InvalidParametersError } from './errors.ts';
import { textProblem } from './input-rules.ts';

export type UploadedPart<T> = { field: string; result: T };

/**
 * Streams a multipart request: text fields are collected, each file stream is handed to
 * `onFile` (which must consume it, e.g. into the blob store) without buffering the file in memory.
 * If anything fails, `onAbort` receives the results already produced so the caller can clean up.
 */
export async function readMultipart<T>(
  request: Request,
  options: { fileFields: readonly string[]; maxFiles: number; maxFileBytes: number; onFile: (field: string, fileName: string, stream: Readable) => Promise<T>; onAbort: (done: T[]) => Promise<void> },
): Promise<{ fields: Record<string, string>; files: UploadedPart<T>[] }> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data/i.test(contentType)) throw new InvalidParametersError([{ path: 'header.content-type', message: 'must be multipart/form-data' }]);
  if (!request.body) throw new InvalidParametersError([{ path: 'body', message: 'request body is empty' }]);

  const fields: Record<string, string> = {};
  const pending: Promise<UploadedPart<T>>[] = [];
  let failure: unknown;
  const fail = (err: unknown) => {
    failure ??= err;
  };

  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, limits: { files: options.maxFiles, fileSize: options.maxFileBytes, fields: 100, fieldSize: 1024 * 1024 } });
  } catch {
    throw new InvalidParametersError([{ path: 'header.content-type', message: 'multipart boundary is missing' }]);
  }
  parser.on('field', (name, value) => {
    const problem = textProblem(name) ?? textProblem(value);
    if (problem) fail(new InvalidParametersError([{ path: JSON.stringify(name).slice(1, -1), message: problem }]));
    fields[name] = value;
  });
  parser.on('file', (field, stream, info) => {
    // busboy reports a truncated body ("Unexpected end of form") and a client abort on the file
    // stream too; an 'error' without a listener there would end the process. The consumer
    // (`onFile`) sees the same error through its own pipeline and cleans up its partial file.
    stream.on('error', (err) => fail(malformed(err)));
    if (!options.fileFields.includes(field)) {
      fail(new InvalidParametersError([{ path: field, message: `unexpected file field; use ${options.fileFields.join(' or ')}` }]));
      stream.resume();
      return;
    }
    const nameProblem = textProblem(info.filename ?? '');
    if (nameProblem) {
      fail(new InvalidParametersError([{ path: field, message: `file name ${nameProblem}` }]));
      stream.resume();
      return;
    }
    stream.on('limit', () => fail(new ApiError('PAYLOAD_TOO_LARGE', `File ${info.filename} exceeds the ${Math.round(options.maxFileBytes / 1048576)} MB limit`, { fileName: info.filename, maxBytes: options.maxFileBytes })));
    const p = options.onFile(field, info.filename || 'upload', stream).then((result) => ({ field, result }));
    p.catch((err: unknown) => {
      fail(err);
      stream.resume();
    });
    pending.push(p);
  });
  parser.on('filesLimit', () => fail(new InvalidParametersError([{ path: 'files', message: `at most ${options.maxFiles} files per request` }])));

  // pipeline() destroys the parser when the body fails (client abort) or the parser fails
  // (malformed or truncated form); busboy then destroys the file stream in flight, so every
  // `onFile` settles and nothing waits forever.
  await pipeline(Readable.fromWeb(request.body as import('node:stream/web').ReadableStream), parser).catch((err: unknown) => fail(malformed(err)));
  const settled = await Promise.allSettled(pending);
  const files = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (failure) {
    await options.onAbort(files.map((f) => f.result));
    throw failure;
  }
  return { fields, files };
}

/** Anything that breaks the multipart stream (a truncated form, a client abort) is the sender's fault: a 400. */
function malformed(err: unknown) {
  return err instanceof ApiError ? err : new InvalidParametersError([{ path: 'body', message: `malformed multipart body: ${err instanceof Error ? err.message : String(err)}` }]);
}
