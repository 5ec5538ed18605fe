import assert from 'node:assert/strict';
import { it } from 'node:test';
import v8 from 'node:v8';
import { releaseMemory } from './memory.ts';

it('gives back the heap a large operation grew, without a flag on the command line', () => {
  // Garbage like an import's: many objects, alive together, then all dropped.
  let rows: { id: string; cells: string[] }[] | undefined = Array.from({ length: 300_000 }, (_, i) => ({ id: `row_${i}`, cells: [`r${i}-a`, `r${i}-b`, `r${i}-c`] }));
  const grown = v8.getHeapStatistics().total_heap_size;
  assert.ok(rows.length);
  rows = undefined;
  assert.equal(releaseMemory(), true, 'gc is available at run time');
  const after = v8.getHeapStatistics().total_heap_size;
  assert.ok(after < grown - 20 * 1024 * 1024, `heap ${Math.round(grown / 1048576)} MB -> ${Math.round(after / 1048576)} MB`);
});
