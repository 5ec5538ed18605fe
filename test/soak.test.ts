import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSoak } from '../bench/support/soak.ts';
import { testBackend } from './helpers/app.ts';

/**
 * The multi-node soak, shortened (bench/soak.bench.ts runs it at 20,000 cells): 2 APIs and 2
 * workers on one PostgreSQL schema, one process SIGKILLed and restarted every 3 s.
 */
describe('multi-node soak (PostgreSQL)', { skip: testBackend().kind !== 'postgres' ? 'needs the PostgreSQL backend (CI runs it)' : false }, () => {
  it('every cell done, prompts repeated only for killed workers, no 5xx outside kill windows, files across APIs', { timeout: 240_000 }, async () => {
    const concurrency = 4;
    const r = await runSoak({ cells: 1200, latencyMs: 50, killEveryMs: 3000, workerConcurrency: concurrency });
    assert.equal(r.task.status, 'completed', JSON.stringify(r.task));
    assert.deepEqual(r.task.progress, { total: 1200, completed: 1200, failed: 0, skipped: 0 });
    assert.equal(r.doneCells, 1200);
    assert.equal(r.distinctPrompts, 1200, 'every cell was asked for');
    // A killed worker's items (calls in flight, claimed, answers not yet committed) are asked again.
    assert.ok(r.repeated <= r.workerKills * 3 * concurrency, `${r.repeated} repeated prompts over ${r.workerKills} worker kills`);
    assert.ok(r.kills >= 1, 'at least one process was killed during the run');
    assert.deepEqual(r.failuresOutside, [], 'no 5xx or refused connection outside the kill windows');
    assert.ok(r.exportOk, 'an export made through API 1 downloads through API 2');
    assert.ok(r.documentOk, 'a document uploaded through API 2 is extracted and read through API 1');
  });
});
