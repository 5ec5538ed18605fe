import { EventEmitter } from 'node:events';

/**
 * In-process domain events (dataset.created, datasource.processed, ...). Webhooks and live
 * progress subscribe here; producers do not know who listens.
 */
export type DomainEvent = { type: string; workspaceId: string; data: Record<string, unknown> };
export type EventBus = { emit(event: DomainEvent): void; on(listener: (event: DomainEvent) => void): () => void };

export function createEventBus(): EventBus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    emit: (event) => emitter.emit('event', event),
    on: (listener) => {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
  };
}
