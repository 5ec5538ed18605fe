import { apiFetch } from '../../api/client';

export type SseEvent = { event: string; data: unknown; id?: string };

/**
 * Reads GET /datasets/{id}/events. EventSource cannot send an Authorization header, so the
 * stream is read with fetch and parsed here. Reconnects with a growing delay, sending
 * Last-Event-ID when the server gave event ids. Returns a function that stops it.
 */
export function subscribeDatasetEvents(datasetId: string, onEvent: (e: SseEvent) => void, onState?: (connected: boolean) => void): () => void {
  const controller = new AbortController();
  let lastId: string | undefined;
  let delay = 500;

  async function connect(): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastId) headers['last-event-id'] = lastId;
    const res = await apiFetch(`/api/v2/datasets/${encodeURIComponent(datasetId)}/events`, { headers, signal: controller.signal });
    if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
    onState?.(true);
    delay = 500;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer[end] === '\r' ? 4 : 2));
        const parsed = parseBlock(block);
        if (!parsed) continue;
        if (parsed.id) lastId = parsed.id;
        onEvent(parsed);
      }
    }
  }

  void (async () => {
    while (!controller.signal.aborted) {
      try {
        await connect();
      } catch {
        // unreachable server or a dropped stream: try again below
      }
      onState?.(false);
      if (controller.signal.aborted) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  })();
  return () => controller.abort();
}

function parseBlock(block: string): SseEvent | undefined {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  if (!data.length) return undefined;
  try {
    return { event, data: JSON.parse(data.join('\n')), ...(id ? { id } : {}) };
  } catch {
    return undefined;
  }
}
