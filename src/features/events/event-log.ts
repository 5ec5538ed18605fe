import { randomBytes } from 'node:crypto';
import type { DomainEvent, EventBus } from '../../events.ts';

/** An event of one dataset's live stream, numbered in this process. */
export type LoggedEvent = { seq: number; id: string; event: DomainEvent };

/** Events kept per dataset for Last-Event-ID replay, and datasets kept (least recently active dropped first). */
export const REPLAY_EVENTS = 1000;
export const REPLAY_DATASETS = 500;

type Buffer = { events: LoggedEvent[]; droppedUpTo: number };

/**
 * The live stream's memory: every live event gets an id (`<boot>-<seq>`, `boot` naming this
 * process's run so an id from before a restart is never mistaken for one of ours) and the last
 * REPLAY_EVENTS of each dataset are kept. A client reconnecting with Last-Event-ID gets the events
 * after it, when the buffer still holds them all; otherwise it needs a fresh snapshot.
 */
export function createEventLog(live: EventBus) {
  const boot = randomBytes(3).toString('hex');
  const buffers = new Map<string, Buffer>();
  const listeners = new Set<(e: LoggedEvent) => void>();
  let seq = 0;
  /** The newest event of any buffer dropped whole: a dataset without a buffer may have lost events up to here. */
  let evictedUpTo = 0;

  live.on((event) => {
    const datasetId = event.data.datasetId;
    if (typeof datasetId !== 'string') return;
    const logged: LoggedEvent = { seq: ++seq, id: `${boot}-${seq}`, event };
    let buffer = buffers.get(datasetId);
    if (buffer) buffers.delete(datasetId); // re-inserted last: the Map's order is recency
    else buffer = { events: [], droppedUpTo: 0 };
    buffers.set(datasetId, buffer);
    buffer.events.push(logged);
    if (buffer.events.length > REPLAY_EVENTS) buffer.droppedUpTo = buffer.events.shift()!.seq;
    if (buffers.size > REPLAY_DATASETS) {
      const [oldest, dropped] = buffers.entries().next().value!;
      evictedUpTo = Math.max(evictedUpTo, dropped.events.at(-1)?.seq ?? 0);
      buffers.delete(oldest);
    }
    for (const l of listeners) l(logged);
  });

  return {
    /** The id of the latest event: what a snapshot taken now is current to. */
    current: () => ({ id: `${boot}-${seq}`, seq }),
    /** Every logged event, as it is logged; returns the unsubscribe. */
    subscribe(listener: (e: LoggedEvent) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /**
     * The dataset's events after `lastEventId`, or undefined when they cannot all be given (an id
     * of another run, unknown, or older than the buffer): the client then needs a snapshot.
     */
    since(datasetId: string, lastEventId: string): LoggedEvent[] | undefined {
      const m = /^([0-9a-f]+)-(\d+)$/.exec(lastEventId.trim());
      if (!m || m[1] !== boot) return undefined;
      const after = Number(m[2]);
      if (after > seq) return undefined;
      const buffer = buffers.get(datasetId);
      if (!buffer) return after >= evictedUpTo ? [] : undefined;
      if (after < buffer.droppedUpTo) return undefined;
      return buffer.events.filter((e) => e.seq > after);
    },
  };
}
export type EventLog = ReturnType<typeof createEventLog>;
