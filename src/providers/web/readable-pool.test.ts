import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { companyPage } from '../../../test/fakes/website.ts';
import { FetchError } from './fetcher.ts';
import { createReadablePool } from './readable-pool.ts';
import { readHtml } from './readable.ts';

describe('readable pool', () => {
  it('reads pages in worker threads with the same result as inline, in parallel', async () => {
    const pool = createReadablePool({ size: 2 });
    try {
      const pages = await Promise.all([1, 2, 3].map((i) => pool.read(companyPage(i), `https://x.test/c/${i}`)));
      pages.forEach((p, i) => assert.deepEqual(p, readHtml(companyPage(i + 1), `https://x.test/c/${i + 1}`)));
    } finally {
      await pool.close();
    }
  });
  it('ends a worker that takes too long and fails that page with FETCH_FAILED', async () => {
    const slow = createReadablePool({ size: 1, timeoutMs: 1 });
    try {
      await assert.rejects(slow.read(companyPage(1), 'https://x.test/'), (e: unknown) => e instanceof FetchError && e.code === 'FETCH_FAILED' && /longer than/.test(e.message));
    } finally {
      await slow.close();
    }
    const pool = createReadablePool({ size: 1, timeoutMs: 60_000 });
    try {
      assert.equal((await pool.read(companyPage(2), 'https://x.test/')).title, 'Company 2 - About');
    } finally {
      await pool.close();
    }
  });
});
