import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ExtractionError } from './extraction-error.ts';
import { createExtractorPool } from './extractor-pool.ts';

const options = { ocr: 'never', maxPages: 10 } as const;

describe('extractor pool', { skip: process.platform === 'win32' ? 'needs a named pipe (mkfifo)' : false }, () => {
  // The slow document is a named pipe nobody writes to: reading it cannot finish until the test
  // lets it, on any machine, so the timeout is the only way the job can end (no page count or
  // OCR speed is assumed). test/documents.test.ts checks the same code end to end with a long scan.
  it('fails a job still running at its timeout with DOCUMENT_TIMEOUT, whatever the machine\'s speed, and replaces the thread', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cellwise-pool-'));
    const never = path.join(dir, 'never.txt');
    const fine = path.join(dir, 'fine.txt');
    execFileSync('mkfifo', [never]);
    await writeFile(fine, 'fine words');
    const pool = createExtractorPool({ size: 1 });
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      // Opening the writing end lets the blocked reader open; closing it gives the reader EOF.
      await (await open(never, 'w')).close();
    };
    try {
      assert.deepEqual(await pool.extract(fine, 'txt', options, 60_000), [{ page: 1, text: 'fine words', method: 'text' }]);
      const started = performance.now();
      // A deadline far past the 1 s timeout, so that a pool that never times out fails here
      // instead of hanging the run (the finally below then releases the pipe).
      let deadline: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        pool.extract(never, 'txt', options, 1_000).then(() => 'finished', (err: unknown) => err),
        new Promise((resolve) => (deadline = setTimeout(resolve, 30_000, 'still running after 30 s'))),
      ]).finally(() => clearTimeout(deadline));
      assert.ok(outcome instanceof ExtractionError, String(outcome));
      assert.equal(outcome.code, 'DOCUMENT_TIMEOUT');
      // Timers may fire late, never early (a little slack for the clock's rounding).
      assert.ok(performance.now() - started >= 990, 'not before its timeout');
      await release();
      assert.deepEqual(await pool.extract(fine, 'txt', options, 60_000), [{ page: 1, text: 'fine words', method: 'text' }], 'a new thread takes the next job');
    } finally {
      await release();
      await pool.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
