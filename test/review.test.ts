import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from './fakes/openai-server.ts';
import { ADMIN_KEY, expectError, startTestApp, type TestApp } from './helpers/app.ts';
import { lockWithTask } from './helpers/lock.ts';
import { waitForTask } from './helpers/tasks.ts';

/** Issue 19: the review queue. */
let app: TestApp;
let fake: FakeLlmServer;
let script: ((req: RecordedRequest) => FakeReply | undefined) | undefined;
before(async () => {
  fake = await startFakeOpenAI({ omitLogprobs: true, respond: (r) => script?.(r) });
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini', llmMaxAttempts: 1 });
});
after(async () => {
  await app.close();
  await fake.close();
});

const userText = (r: RecordedRequest) => String(r.body.messages?.filter((m) => m.role === 'user').at(-1)?.content);
/** Answers every ai_enrich request with a value naming the row and a confidence of 0.5; classification with "yes". */
const answers = (r: RecordedRequest): FakeReply => {
  const text = userText(r);
  const schema = JSON.stringify(r.body.response_format ?? {});
  if (schema.includes('"label"')) return { kind: 'json', value: { label: 'yes', confidence: 0.5 } };
  const city = /city (\w+)/.exec(text)?.[1] ?? '?';
  return { kind: 'json', value: { value: `${city}${text.includes('Reviewer') ? '-again' : ''}`, confidence: 0.5 } };
};

async function enrichedDataset(n = 3) {
  script = answers;
  const rows = Array.from({ length: n }, (_, i) => ({ city: `c${i}` }));
  const res = await app.post('/api/v2/datasets', {
    name: 'Review',
    type: 'analysis',
    rows,
    columns: [
      { name: 'Country', taskType: 'ai_enrich', metadata: { prompt: 'country of city {{city}}', confidence: 0.7 } },
      { name: 'Capital', taskType: 'classification', metadata: { prompt: 'Is {{Country}} a capital?' } },
    ],
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.datasetId as string;
  const ids = Object.fromEntries(res.body.columns.map((c: any) => [c.name, c.columnId])) as Record<'city' | 'Country' | 'Capital', string>;
  await run(id);
  return { id, ids };
}
async function run(id: string, body: unknown = {}) {
  const res = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const task = await waitForTask(app, id, res.body.taskId, undefined, 30_000);
  assert.equal(task.status, 'completed', JSON.stringify(task));
  return task;
}
async function grid(id: string) {
  const g = (await app.get(`/api/v2/datasets/${id}/data?includeMetadata=true&limit=1000`)).body;
  const col = (columnId: string) => g.data.map((r: any[]) => r[g.columns.findIndex((c: any) => c.columnId === columnId)]);
  return { g, col };
}
const counts = async (id: string) => (await app.get(`/api/v2/datasets/${id}`)).body.review;

describe('review', () => {
  it('approve: the review is written, the cell no longer needs review, the counts follow', async () => {
    const { id, ids } = await enrichedDataset();
    let { col } = await grid(id);
    assert.deepEqual(col(ids.Country).map((c: any) => [c.value, c.metadata.needsReview]), [['c0', true], ['c1', true], ['c2', true]]);
    assert.deepEqual(await counts(id), { needsReview: 3, approved: 0, rejected: 0 });
    const cell = col(ids.Country)[0];
    const res = await app.post(`/api/v2/datasets/${id}/cells/${cell.cellId}/review`, { decision: 'approved', note: 'checked on Wikipedia' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'done');
    assert.equal(res.body.value, 'c0');
    assert.equal(res.body.metadata.needsReview, false);
    assert.equal(res.body.metadata.confidence, 0.5, 'the rest of the metadata is kept');
    const review = res.body.metadata.review;
    assert.deepEqual({ ...review, at: undefined }, { decision: 'approved', note: 'checked on Wikipedia', keyId: review.keyId, at: undefined });
    assert.match(review.keyId, /^key_/);
    assert.ok(!Number.isNaN(Date.parse(review.at)));
    ({ col } = await grid(id));
    assert.deepEqual(col(ids.Country)[0].metadata.review, review);
    assert.deepEqual(await counts(id), { needsReview: 2, approved: 1, rejected: 0 });
    assert.equal(col(ids.Capital)[0].status, 'done', 'an approval leaves the dependents alone');
  });

  it('reject: the cell and its dependents go stale; the re-run sends the note and the rejected value to the model and clears the review', async () => {
    const { id, ids } = await enrichedDataset();
    let { col } = await grid(id);
    const cell = col(ids.Country)[1];
    const res = await app.post(`/api/v2/datasets/${id}/cells/${cell.cellId}/review`, { decision: 'rejected', note: 'c1 is in Peru, not where you said' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'stale');
    assert.equal(res.body.value, 'c1', 'the value stays until a run replaces it');
    assert.equal(res.body.metadata.review.decision, 'rejected');
    ({ col } = await grid(id));
    assert.deepEqual(col(ids.Country).map((c: any) => c.status), ['done', 'stale', 'done']);
    assert.deepEqual(col(ids.Capital).map((c: any) => c.status), ['done', 'stale', 'done'], 'the cell reading it in its row goes stale too');
    assert.deepEqual(await counts(id), { needsReview: 2, approved: 0, rejected: 1 });

    // The estimate builds the request the run will make: with the feedback, so not the cached one.
    const estimate = await app.post(`/api/v2/datasets/${id}/tasks/estimate`, { cellIds: [cell.cellId] });
    assert.equal(estimate.status, 200, JSON.stringify(estimate.body));
    assert.deepEqual([estimate.body.llmCalls, estimate.body.expectedCacheHits], [1, 0]);
    fake.reset();
    await run(id);
    const asked = fake.requests.map(userText);
    const withFeedback = asked.filter((t) => t.includes('Reviewer feedback'));
    assert.equal(withFeedback.length, 1, `only the rejected cell carries feedback: ${JSON.stringify(asked)}`);
    assert.match(withFeedback[0]!, /country of city c1/);
    assert.match(withFeedback[0]!, /Reviewer's note: c1 is in Peru, not where you said/);
    assert.match(withFeedback[0]!, /Rejected answer: c1\n/);
    assert.equal(asked.length, 2, 'the rejected cell and its stale dependent ran again, nothing else');
    ({ col } = await grid(id));
    const rerun = col(ids.Country)[1];
    assert.equal(rerun.value, 'c1-again');
    assert.equal(rerun.status, 'done');
    assert.equal(rerun.metadata.review, undefined, 'a new answer clears the review');
    assert.equal(rerun.metadata.needsReview, true, 'and is judged afresh against the threshold');
    assert.deepEqual(await counts(id), { needsReview: 3, approved: 0, rejected: 0 });
  });

  it('a rejected classification gets the feedback too; a failed re-run keeps the rejection for the next one', async () => {
    const { id, ids } = await enrichedDataset(1);
    const { col } = await grid(id);
    const cell = col(ids.Capital)[0];
    assert.equal((await app.post(`/api/v2/datasets/${id}/cells/${cell.cellId}/review`, { decision: 'rejected', note: 'no' })).status, 200);
    fake.reset();
    script = () => ({ kind: 'error', status: 400, message: 'bad request' });
    const failed = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, { cellIds: [cell.cellId] });
    await waitForTask(app, id, failed.body.taskId);
    assert.match(userText(fake.requests[0]!), /Reviewer's note: no/);
    let after = (await grid(id)).col(ids.Capital)[0];
    assert.equal(after.status, 'error');
    assert.equal(after.metadata.review.decision, 'rejected');
    fake.reset();
    script = answers;
    await run(id, { cellIds: [cell.cellId] });
    assert.match(userText(fake.requests[0]!), /Rejected answer: yes\nReviewer's note: no/, 'the note and the rejected value survive the failed attempt');
    after = (await grid(id)).col(ids.Capital)[0];
    assert.equal(after.status, 'done');
    assert.equal(after.metadata.review, undefined);
  });

  it('an edit of the value clears the review', async () => {
    const { id, ids } = await enrichedDataset(1);
    const cell = (await grid(id)).col(ids.Country)[0];
    await app.post(`/api/v2/datasets/${id}/cells/${cell.cellId}/review`, { decision: 'approved' });
    assert.equal((await counts(id)).approved, 1);
    const edited = await app.patch(`/api/v2/datasets/${id}/cells/${cell.cellId}`, { value: 'France' });
    assert.equal(edited.status, 200);
    assert.equal((await grid(id)).col(ids.Country)[0].metadata.review, undefined);
    assert.deepEqual(await counts(id), { needsReview: 0, approved: 0, rejected: 0 });
  });

  it('refuses raw cells, empty cells, unknown cells and bad bodies; answers PROCESSING_IN_PROGRESS while a task runs', async () => {
    const { id, ids } = await enrichedDataset(2);
    const { col } = await grid(id);
    const url = (cellId: string) => `/api/v2/datasets/${id}/cells/${cellId}/review`;
    expectError(await app.post(url(col(ids.city)[0].cellId), { decision: 'approved' }), 400, 'INVALID_PARAMETERS');
    const emptied = col(ids.Country)[0].cellId;
    await app.patch(`/api/v2/datasets/${id}/cells/${emptied}`, { value: null });
    expectError(await app.post(url(emptied), { decision: 'approved' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(url('cell_nope'), { decision: 'approved' }), 404, 'CELL_NOT_FOUND');
    expectError(await app.post(url(col(ids.Country)[1].cellId), { decision: 'maybe' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(url(col(ids.Country)[1].cellId), { decision: 'approved', extra: 1 }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(`/api/v2/datasets/ds_nope/cells/${col(ids.Country)[1].cellId}/review`, { decision: 'approved' }), 404, 'DATASET_NOT_FOUND');
    await lockWithTask(app, id);
    expectError(await app.post(url(col(ids.Country)[1].cellId), { decision: 'approved' }), 409, 'PROCESSING_IN_PROGRESS');
    expectError(await app.post(`/api/v2/datasets/${id}/review`, { decision: 'approved', columnIds: [ids.Country] }), 409, 'PROCESSING_IN_PROGRESS');
  });

  it('another workspace cannot review the cells, and read keys cannot write reviews', async () => {
    const { id, ids } = await enrichedDataset(1);
    const cell = (await grid(id)).col(ids.Country)[0];
    const ws = await app.post('/api/v2/workspaces', { name: 'Other' });
    assert.equal(ws.status, 201, JSON.stringify(ws.body));
    expectError(await app.post(`/api/v2/datasets/${id}/cells/${cell.cellId}/review`, { decision: 'approved' }, { key: ws.body.key }), 404, 'DATASET_NOT_FOUND');
    expectError(await app.post(`/api/v2/datasets/${id}/review`, { decision: 'approved', cellIds: [cell.cellId] }, { key: ws.body.key }), 404, 'DATASET_NOT_FOUND');
    const reader = await app.post('/api/v2/keys', { name: 'reader', scopes: ['read'] });
    expectError(await app.post(`/api/v2/datasets/${id}/cells/${cell.cellId}/review`, { decision: 'approved' }, { key: reader.body.key }), 403, 'ACCESS_DENIED');
    assert.equal((await counts(id)).approved, 0);
  });

  it('bulk: exact cells all or nothing; rows and columns review what has a value; live events go out', async () => {
    const { id, ids } = await enrichedDataset(4);
    const { col, g } = await grid(id);
    const url = `/api/v2/datasets/${id}/review`;
    // Exact cells: one raw cell in the list refuses the whole request.
    expectError(await app.post(url, { decision: 'approved', cellIds: [col(ids.Country)[0].cellId, col(ids.city)[0].cellId] }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(url, { decision: 'approved', cellIds: [col(ids.Country)[0].cellId, `cell_${'0'.repeat(16)}${ids.Country.slice(4)}`] }), 404, 'CELL_NOT_FOUND');
    expectError(await app.post(url, { decision: 'approved' }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(url, { decision: 'approved', cellIds: [col(ids.Country)[0].cellId], rowIds: [g.rowIds[0]] }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(url, { decision: 'approved', columnIds: [ids.city] }), 400, 'INVALID_PARAMETERS');
    expectError(await app.post(url, { decision: 'approved', columnIds: ['col_nope'] }), 404, 'COLUMN_NOT_FOUND');
    expectError(await app.post(url, { decision: 'approved', rowIds: ['row_nope'] }), 404, 'ROW_NOT_FOUND');
    assert.deepEqual(await counts(id), { needsReview: 4, approved: 0, rejected: 0 }, 'refused requests wrote nothing');

    const events: any[] = [];
    const controller = new AbortController();
    const stream = await fetch(`${app.baseUrl}/api/v2/datasets/${id}/events`, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, signal: controller.signal });
    let snapshot: () => void;
    const subscribed = new Promise<void>((r) => (snapshot = r));
    const reading = (async () => {
      const decoder = new TextDecoder();
      let text = '';
      try {
        for await (const chunk of stream.body as any) {
          text += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = text.indexOf('\n\n')) >= 0) {
            const block = text.slice(0, end);
            text = text.slice(end + 2);
            const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
            if (fields.event === 'snapshot') snapshot!();
            if (fields.event === 'cell') events.push(JSON.parse(fields.data!));
          }
        }
      } catch {
        // aborted
      }
    })();
    await subscribed;

    const two = await app.post(url, { decision: 'approved', cellIds: [col(ids.Country)[0].cellId, col(ids.Capital)[0].cellId] });
    assert.equal(two.status, 200, JSON.stringify(two.body));
    assert.deepEqual({ ...two.body, review: undefined }, { datasetId: id, decision: 'approved', reviewed: 2, skipped: 0, review: undefined });
    assert.deepEqual(two.body.review, { needsReview: 3, approved: 2, rejected: 0 });

    // Rows x columns: row 1's Country cell is emptied first and is skipped.
    await app.patch(`/api/v2/datasets/${id}/cells/${col(ids.Country)[1].cellId}`, { value: null });
    const rows = await app.post(url, { decision: 'rejected', note: 'wrong', rowIds: [g.rowIds[1], g.rowIds[2]], columnIds: [ids.Country] });
    assert.equal(rows.status, 200, JSON.stringify(rows.body));
    assert.equal(rows.body.reviewed, 1);
    assert.equal(rows.body.skipped, 1);
    // A whole column.
    const column = await app.post(url, { decision: 'approved', columnIds: [ids.Capital] });
    assert.equal(column.body.reviewed, 4);
    const after = await grid(id);
    assert.deepEqual(after.col(ids.Country).map((c: any) => c.metadata.review?.decision ?? null), ['approved', null, 'rejected', null]);
    assert.deepEqual(after.col(ids.Country).map((c: any) => c.status), ['done', 'empty', 'stale', 'done']);
    assert.deepEqual(after.col(ids.Capital).map((c: any) => c.metadata.review?.decision), ['approved', 'approved', 'approved', 'approved']);
    assert.deepEqual(await counts(id), { needsReview: 1, approved: 5, rejected: 1 });

    const deadline = Date.now() + 5000;
    while (events.length < 7 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await reading;
    const reviewEvents = events.filter((e) => e.review);
    assert.equal(reviewEvents.length, 7, JSON.stringify(events));
    assert.deepEqual(reviewEvents[2], { cellId: col(ids.Country)[2].cellId, rowId: g.rowIds[2], columnId: ids.Country, status: 'stale', value: 'c2', review: 'rejected' });
  });
});
