import assert from 'node:assert/strict';
import type { TestApp } from './app.ts';

/** Polls a task until it reaches one of `statuses` (by default: finished), failing after `timeoutMs`. */
export async function waitForTask(a: TestApp, datasetId: string, taskId: string, statuses = ['completed', 'failed', 'cancelled'], timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await a.get(`/api/v2/datasets/${datasetId}/tasks/${taskId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (statuses.includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still ${res.body.status} after ${timeoutMs} ms: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

