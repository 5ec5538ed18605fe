import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, type FakeLlmServer } from './fakes/openai-server.ts';
import { ADMIN_KEY, startTestApp, type TestApp } from './helpers/app.ts';
import { waitForTask } from './helpers/tasks.ts';

/** Issue 12 item 7: a snapshot on connect, event ids, Last-Event-ID replay, progress on task events. */
let app: TestApp;
let fake: FakeLlmServer;
before(async () => {
  fake = await startFakeOpenAI({ latencyMs: 2 });
  app = await startTestApp({ openaiBaseUrl: fake.baseUrl, model: 'openai:gpt-4o-mini' });
});
after(async () => {
  await app.close();
  await fake.close();
});

type SseEvent = { event: string; id?: string; data: any };

/** Opens the stream and collects events until `until` says enough (or 5 s pass). */
async function collect(datasetId: string, until: (events: SseEvent[]) => boolean, headers: Record<string, string> = {}): Promise<SseEvent[]> {
  const controller = new AbortController();
  const res = await fetch(`${app.baseUrl}/api/v2/datasets/${datasetId}/events`, { headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers }, signal: controller.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let text = '';
  const deadline = Date.now() + 5000;
  try {
    while (!until(events)) {
      assert.ok(Date.now() < deadline, `stream did not get there: ${JSON.stringify(events)}`);
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
        if (fields.event) events.push({ event: fields.event, ...(fields.id ? { id: fields.id } : {}), data: JSON.parse(fields.data ?? 'null') });
      }
    }
  } finally {
    controller.abort();
  }
  return events;
}

async function finishedDataset() {
  const ds = await app.post('/api/v2/datasets', { name: 'Live', type: 'analysis', rows: [{ Name: 'a' }, { Name: 'b' }, { Name: 'c' }], columns: [{ name: 'Name', taskType: 'raw' }, { name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Do {{Name}}' } }] });
  assert.equal(ds.status, 201, JSON.stringify(ds.body));
  const task = await app.post(`/api/v2/datasets/${ds.body.datasetId}/tasks/bulk`, {});
  await waitForTask(app, ds.body.datasetId, task.body.taskId);
  return { id: ds.body.datasetId as string, taskId: task.body.taskId as string };
}

describe('live progress from the first second', () => {
  it('a client connecting after the task finished gets a snapshot: dataset status and the last task with progress', async () => {
    const ds = await finishedDataset();
    const [snapshot] = await collect(ds.id, (e) => e.length >= 1);
    assert.equal(snapshot!.event, 'snapshot');
    assert.ok(snapshot!.id, 'the snapshot has an id to resume from');
    assert.equal(snapshot!.data.dataset.status, 'completed');
    assert.equal(snapshot!.data.dataset.activeTaskId, null);
    assert.equal(snapshot!.data.task.taskId, ds.taskId);
    assert.equal(snapshot!.data.task.status, 'completed');
    assert.deepEqual(snapshot!.data.task.progress, { total: 3, completed: 3, failed: 0, skipped: 0 });
  });

  it('events carry ids and task events carry progress; Last-Event-ID replays what was missed, an unknown id gets a fresh snapshot', async () => {
    const ds = await app.post('/api/v2/datasets', { name: 'Replay', type: 'analysis', rows: [{ Name: 'x' }, { Name: 'y' }], columns: [{ name: 'Name', taskType: 'raw' }, { name: 'Out', taskType: 'ai_enrich', metadata: { prompt: 'Do {{Name}}' } }] });
    const id = ds.body.datasetId as string;
    const streamed = collect(id, (e) => e.some((x) => x.event === 'task' && x.data.status === 'completed'));
    // The stream is open once its snapshot could be read: start the task after a first event.
    await new Promise((r) => setTimeout(r, 50));
    const task = await app.post(`/api/v2/datasets/${id}/tasks/bulk`, {});
    await waitForTask(app, id, task.body.taskId);
    const events = await streamed;
    assert.equal(events[0]!.event, 'snapshot');
    const live = events.slice(1);
    assert.ok(live.length >= 3);
    assert.ok(live.every((e) => typeof e.id === 'string'), 'every event has an id');
    assert.equal(new Set(live.map((e) => e.id)).size, live.length, 'ids are unique');
    const tasks = live.filter((e) => e.event === 'task');
    assert.ok(tasks.length && tasks.every((e) => e.data.progress && typeof e.data.progress.total === 'number'), JSON.stringify(tasks));
    assert.deepEqual(tasks.at(-1)!.data.progress, { total: 2, completed: 2, failed: 0, skipped: 0 });

    // Reconnecting from the first live event: the rest again, same ids, no snapshot.
    const replayed = await collect(id, (e) => e.length >= live.length - 1, { 'last-event-id': live[0]!.id! });
    assert.deepEqual(
      replayed.map((e) => e.id),
      live.slice(1).map((e) => e.id),
    );
    // An id this server never gave (another run, or past the buffer): a fresh snapshot.
    const fresh = await collect(id, (e) => e.length >= 1, { 'last-event-id': 'ffffff-1' });
    assert.equal(fresh[0]!.event, 'snapshot');
    assert.equal(fresh[0]!.data.task.status, 'completed');
  });
});
