import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request a piece of work is done for, carried through its async calls (the request log
 * middleware starts it): log lines carry its id, and a task created in it records the id so
 * that the task's own log lines, in whichever process runs it, name the request that started it.
 */
const context = new AsyncLocalStorage<{ requestId: string }>();

export function runInRequest<T>(requestId: string, fn: () => T): T {
  return context.run({ requestId }, fn);
}

export function currentRequestId(): string | undefined {
  return context.getStore()?.requestId;
}
