import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase, testBackend } from '../../test/helpers/app.ts';
import { claimedBy } from '../../test/helpers/leases.ts';
import { findCell } from './rows.ts';
import { openStore, type Store } from './store.ts';
import { decodeRow, emptyCell, encodeRow, writeRowCells } from './row-cells.ts';
import { cancelTask, claimItems, finishItem, finishItems, itemKeyOf, markClaimedProcessing, releaseItem, renewLeases, setHeldCellStatus, type ClaimedItem, type ItemKey } from './tasks.ts';

// The lease guard on the backend of this run (scripts/test.mjs runs SQLite, then PostgreSQL): a
// worker writes a result only while its item is running and leased to it. Each way of losing the
// item is met once: another worker took it over after the lease expired, or it left `running`
// while the lease owner column still names the worker (the status check must not lean on every
// other statement clearing the owner).
const later = '2026-01-01T00:10:00.000Z';
const usage = { llmCalls: 1, cachedCalls: 0, inputTokens: 10, outputTokens: 5, costUsd: 0.001 };

describe(`task item leases: ${testBackend().kind}`, () => {
  let store: Store;
  let drop: () => Promise<void>;
  before(async () => {
    const db = await freshDatabase();
    store = await openStore(db);
    drop = db.drop;
  });
  after(async () => {
    await store.close();
    await drop();
  });

  const claimedByA = (n: number) => claimedBy(store, 'A', n);

  /** B claims what expired: A's lease ran out (A died or stalled). */
  async function takenOverByB(item: ClaimedItem) {
    const taken = await claimItems(store.db, { owner: 'B', limit: 100, leaseUntil: '2026-01-01T00:20:00.000Z', now: later });
    assert.ok(taken.some((t) => itemKeyOf(t) === itemKeyOf(item)), 'B took the expired item over');
  }

  /** The item leaves `running` (a cancel, say) while its owner column still names A. */
  async function stoppedStillNamingA(item: ItemKey) {
    await store.db.updateTable('task_items').set({ status: 'cancelled' }).where('task_id', '=', item.taskId).where('row_id', '=', item.rowId).where('column_id', '=', item.columnId).execute();
  }

  const cellOf = async (ds: string, item: ItemKey) => (await findCell(store.db, ds, item.rowId, item.columnId))!;
  const attempts = async (item: ItemKey) => (await store.db.selectFrom('task_items').select('attempts').where('task_id', '=', item.taskId).where('row_id', '=', item.rowId).where('column_id', '=', item.columnId).executeTakeFirstOrThrow()).attempts;
  const itemRow = (item: ItemKey) => store.db.selectFrom('task_items').select(['status', 'lease_owner', 'llm_calls']).where('task_id', '=', item.taskId).where('row_id', '=', item.rowId).where('column_id', '=', item.columnId).executeTakeFirstOrThrow();

  it('the group commit finishes and writes only the items the owner still holds', async () => {
    const { ds, items } = await claimedByA(3);
    const [lost, stopped, held] = items as [ClaimedItem, ClaimedItem, ClaimedItem];
    // Only `lost` expires: the others' leases are renewed past B's claim.
    await store.db.updateTable('task_items').set({ lease_until: '2026-01-01T01:00:00.000Z' }).where('row_id', 'in', [stopped.rowId, held.rowId]).execute();
    await takenOverByB(lost);
    await stoppedStillNamingA(stopped);
    const result = (key: ItemKey) => ({ key, status: 'done' as const, usage, cell: { value: `by A ${key.rowId}`, status: 'done' as const, metadata: { by: 'A' } } });
    const written = await finishItems(store.db, 'A', items.map(result), later);
    assert.deepEqual([...written], [itemKeyOf(held)]);
    assert.equal((await cellOf(ds, held)).value, `by A ${held.rowId}`);
    assert.deepEqual([(await cellOf(ds, lost)).value, (await cellOf(ds, stopped)).value], [null, null], 'no value from a worker that lost the item');
    assert.deepEqual(await itemRow(lost), { status: 'running', lease_owner: 'B', llm_calls: 0 });
    assert.equal((await itemRow(stopped)).status, 'cancelled');
    assert.deepEqual(await itemRow(held), { status: 'done', lease_owner: null, llm_calls: 1 });
    // The new holder's result is the one that lands.
    assert.deepEqual([...(await finishItems(store.db, 'B', [{ ...result(lost), cell: { value: 'by B', status: 'done', metadata: {} } }], later))], [itemKeyOf(lost)]);
    assert.equal((await cellOf(ds, lost)).value, 'by B');
  });

  it('finish, release and cell-status updates refuse an item the owner no longer holds', async () => {
    const { ds, items } = await claimedByA(3);
    const [lost, stopped, held] = items as [ClaimedItem, ClaimedItem, ClaimedItem];
    await store.db.updateTable('task_items').set({ lease_until: '2026-01-01T01:00:00.000Z' }).where('row_id', 'in', [stopped.rowId, held.rowId]).execute();
    await takenOverByB(lost);
    await stoppedStillNamingA(stopped);
    for (const gone of [lost, stopped]) {
      assert.equal(await setHeldCellStatus(store.db, gone, 'A', 'processing', later), false);
      assert.equal(await releaseItem(store.db, gone, 'A', later, true), false);
      assert.equal(await finishItem(store.db, gone, 'A', 'failed', usage), false);
      assert.equal((await cellOf(ds, gone)).status, 'queued', 'the cell keeps the status the task gave it');
    }
    assert.deepEqual(await itemRow(lost), { status: 'running', lease_owner: 'B', llm_calls: 0 });
    assert.equal((await itemRow(stopped)).status, 'cancelled');
    assert.equal(await setHeldCellStatus(store.db, held, 'A', 'processing', later), true);
    assert.equal((await cellOf(ds, held)).status, 'processing');
    assert.equal(await releaseItem(store.db, held, 'A', later, true), true);
    assert.deepEqual(await itemRow(held), { status: 'pending', lease_owner: null, llm_calls: 0 });
    assert.equal(await attempts(held), 0, 'a refunded release gives the attempt back');
  });

  it('finishItem and releaseItem report success, and a release without refund keeps the attempt', async () => {
    const { items } = await claimedByA(2);
    const [done, retried] = items as [ClaimedItem, ClaimedItem];
    assert.equal(await finishItem(store.db, done, 'A', 'done', usage), true);
    assert.deepEqual(await itemRow(done), { status: 'done', lease_owner: null, llm_calls: 1 });
    assert.equal(await releaseItem(store.db, retried, 'A', later, false), true);
    assert.equal(await attempts(retried), 1);
  });

  const leaseOf = async (item: ItemKey) => (await store.db.selectFrom('task_items').select('lease_until').where('task_id', '=', item.taskId).where('row_id', '=', item.rowId).where('column_id', '=', item.columnId).executeTakeFirstOrThrow()).lease_until;
  const updatedAt = async (rowId: string) => (await store.db.selectFrom('dataset_rows').select('updated_at').where('id', '=', rowId).executeTakeFirstOrThrow()).updated_at;

  it('the heartbeat renews only the running items of its own owner', async () => {
    // Owners of their own (R, S): other tests' items named A must not matter.
    const { items } = await claimedBy(store, 'R', 2);
    const [running, stopped] = items as [ClaimedItem, ClaimedItem];
    const { items: others } = await claimedBy(store, 'S', 1);
    await store.db.updateTable('task_items').set({ status: 'cancelled' }).where('task_id', '=', stopped.taskId).where('row_id', '=', stopped.rowId).execute();
    await renewLeases(store.db, 'R', '2026-01-01T05:00:00.000Z');
    assert.equal(await leaseOf(running), '2026-01-01T05:00:00.000Z');
    assert.equal(await leaseOf(stopped), '2026-01-01T00:01:00.000Z', 'an item that left running is not renewed');
    assert.equal(await leaseOf(others[0]!), '2026-01-01T00:01:00.000Z', "another owner's lease is not renewed");
    // Renewed past B's claim: the item is not taken over.
    const taken = await claimItems(store.db, { owner: 'B', limit: 100, leaseUntil: '2026-01-01T06:00:00.000Z', now: '2026-01-01T01:00:00.000Z' });
    assert.ok(!taken.some((t) => itemKeyOf(t) === itemKeyOf(running)));
    assert.ok(taken.some((t) => itemKeyOf(t) === itemKeyOf(others[0]!)), 'the lease that was not renewed expired');
  });

  it('marks processing only the claimed cells the owner still holds, and rewrites no row it does not change', async () => {
    const { ds, items } = await claimedBy(store, 'M', 3);
    const [lost, stopped, held] = items as [ClaimedItem, ClaimedItem, ClaimedItem];
    await store.db.updateTable('task_items').set({ lease_until: '2026-01-01T01:00:00.000Z' }).where('row_id', 'in', [stopped.rowId, held.rowId]).execute();
    await takenOverByB(lost);
    await stoppedStillNamingA(stopped);
    const before = await updatedAt(lost.rowId);
    await markClaimedProcessing(store.db, 'M', items, later);
    assert.deepEqual(await Promise.all(items.map(async (k) => (await cellOf(ds, k)).status)), ['queued', 'queued', 'processing']);
    assert.equal(await updatedAt(lost.rowId), before, 'a row with no held cell is not rewritten');
    assert.equal(await updatedAt(held.rowId), later);
    // Already processing: nothing to write.
    await markClaimedProcessing(store.db, 'M', [held], '2026-01-01T00:20:00.000Z');
    assert.equal(await updatedAt(held.rowId), later, 'a cell already processing is not written again');
  });

  it('a held item whose row or cell is gone: the cell status update says false', async () => {
    const { items } = await claimedBy(store, 'G', 2);
    const [rowGone, cellGone] = items as [ClaimedItem, ClaimedItem];
    await store.db.deleteFrom('dataset_rows').where('id', '=', rowGone.rowId).execute();
    await writeRowCells(store.db, [{ id: cellGone.rowId, cells: encodeRow([]) }], later);
    assert.equal(await setHeldCellStatus(store.db, rowGone, 'G', 'processing', later), false);
    assert.equal(await setHeldCellStatus(store.db, cellGone, 'G', 'processing', later), false);
  });

  it('a release charges the spend of the attempt to the item', async () => {
    const { items } = await claimedBy(store, 'U', 1);
    assert.equal(await releaseItem(store.db, items[0]!, 'U', later, false, usage), true);
    assert.deepEqual(await itemRow(items[0]!), { status: 'pending', lease_owner: null, llm_calls: 1 });
  });

  it('the group commit writes each finished cell of a row and nothing else of it, and finishes items without a cell', async () => {
    const { ds, col, items } = await claimedBy(store, 'F', 3);
    const [twoCells, cellGone, noCell] = items as [ClaimedItem, ClaimedItem, ClaimedItem];
    // A row with another column's cell next to the item's, a row whose cell is gone (its column deleted).
    await store.db.updateTable('dataset_rows').set({ cells: encodeRow([{ ...emptyCell(twoCells.rowId, 'col_other'), value: 'kept', status: 'done' }, emptyCell(twoCells.rowId, col)]) }).where('id', '=', twoCells.rowId).execute();
    await writeRowCells(store.db, [{ id: cellGone.rowId, cells: encodeRow([]) }], later);
    const untouched = await Promise.all([cellGone, noCell].map((k) => updatedAt(k.rowId)));
    const written = await finishItems(store.db, 'F', [
      { key: twoCells, status: 'done', usage, cell: { value: 'v', status: 'done', metadata: { model: 'm' } } },
      { key: cellGone, status: 'done', usage, cell: { value: 'w', status: 'done', metadata: {} } },
      { key: noCell, status: 'failed', usage },
    ], '2026-01-01T00:30:00.000Z');
    assert.deepEqual([...written].sort(), items.map(itemKeyOf).sort());
    const stored = await store.db.selectFrom('dataset_rows').select('cells').where('id', '=', twoCells.rowId).executeTakeFirstOrThrow();
    assert.deepEqual(decodeRow(stored.cells), [{ ...emptyCell(twoCells.rowId, 'col_other'), value: 'kept', status: 'done' }, { ...emptyCell(twoCells.rowId, col), value: 'v', status: 'done' }]);
    assert.deepEqual((await cellOf(ds, twoCells)).metadata, { model: 'm' });
    assert.deepEqual(await Promise.all([cellGone, noCell].map((k) => updatedAt(k.rowId))), untouched, 'rows with no cell to write are not rewritten');
    assert.equal((await cellOf(ds, noCell)).status, 'queued');
    assert.deepEqual(await Promise.all([cellGone, noCell].map(async (k) => (await itemRow(k)).status)), ['done', 'failed']);
  });

  it('PostgreSQL: a claim skips the items another claim has locked instead of waiting for them', { skip: testBackend().kind !== 'postgres' && 'the lock is PostgreSQL-only' }, async () => {
    // Pending items due before any other test's: the two claims below see only these four.
    const { items } = await claimedBy(store, 'P', 4);
    // Each due at its own time: both claims would pick the same two first, were they not locked.
    for (const [i, k] of items.entries()) assert.equal(await releaseItem(store.db, k, 'P', `2025-01-01T00:00:0${i}.000Z`, true), true);
    const claim = (db: typeof store.db, owner: string) => claimItems(db, { owner, limit: 2, leaseUntil: '2025-01-01T01:00:00.000Z', now: '2025-06-01T00:00:00.000Z' });
    let second: Promise<ClaimedItem[]> | undefined;
    const first = await store.transaction(async (trx) => {
      const mine = await claim(trx, 'P1');
      // While the first claim's transaction holds its rows, a second claim takes the other two at once.
      second = claim(store.db, 'P2');
      const outcome = await Promise.race([second.then(() => 'claimed'), new Promise((r) => setTimeout(r, 2000, 'waited'))]);
      assert.equal(outcome, 'claimed', 'the second claim waited for the first one to commit');
      return mine;
    });
    const other = await second!;
    assert.equal(first.length, 2);
    assert.equal(other.length, 2);
    assert.deepEqual(new Set([...first, ...other].map(itemKeyOf)), new Set(items.map(itemKeyOf)));
    // Finished, so that their leases (expired by the later tests' clock) are nobody's to take.
    for (const k of first) assert.equal(await finishItem(store.db, k, 'P1', 'done', usage), true);
    for (const k of other) assert.equal(await finishItem(store.db, k, 'P2', 'done', usage), true);
  });

  it('a result without a value stores null, so the cell still counts as empty', async () => {
    const { ds, items } = await claimedByA(2);
    const [failed, undef] = items as [ClaimedItem, ClaimedItem];
    const written = await finishItems(store.db, 'A', [
      { key: failed, status: 'failed', usage, cell: { value: null, status: 'error', metadata: { error: 'x' } } },
      { key: undef, status: 'done', usage, cell: { value: undefined, status: 'done', metadata: {} } },
    ], later);
    assert.equal(written.size, 2);
    for (const k of [failed, undef]) {
      const row = await store.db.selectFrom('dataset_rows').select('cells').where('id', '=', k.rowId).executeTakeFirstOrThrow();
      assert.equal((JSON.parse(row.cells) as { value: unknown }[])[0]!.value, null, 'null, not undefined (a key left out)');
    }
    assert.equal((await cellOf(ds, failed)).status, 'error');
  });
});

describe(`a cancel racing the group commit: ${testBackend().kind}`, () => {
  // On PostgreSQL both take row locks on task_items and on dataset_rows. Taken in opposite orders
  // (the cancel's rows first, the commit's items first) they deadlock and PostgreSQL aborts one;
  // in the same order one simply waits. Each round races a commit of half the items against a
  // cancel of the task, on fresh rows: every round must end with neither failing.
  it('neither deadlocks nor loses the finished cells', async () => {
    const db = await freshDatabase();
    const store = await openStore(db);
    try {
      for (let round = 0; round < 8; round++) {
        const { ds, items } = await claimedBy(store, `W${round}`, 300);
        const results = items.filter((_, i) => i % 2 === 0).map((key) => ({ key, status: 'done' as const, usage, cell: { value: `v${key.rowId}`, status: 'done' as const, metadata: { model: 'x' } } }));
        const [written] = await Promise.all([
          store.transaction((trx) => finishItems(trx, `W${round}`, results, later)),
          store.transaction(async (trx) => {
            await store.lockDataset(trx, ds);
            await cancelTask(trx, items[0]!.taskId, later);
          }),
        ]);
        // Whichever went first, every cell is either the commit's result or back to empty.
        for (const key of items) {
          const cell = (await findCell(store.db, ds, key.rowId, key.columnId))!;
          if (written.has(itemKeyOf(key))) assert.deepEqual([cell.value, cell.status], [`v${key.rowId}`, 'done']);
          else assert.deepEqual([cell.value, cell.status], [null, 'empty']);
        }
      }
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
