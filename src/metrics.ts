import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RequestOutcome } from './http/request-log.ts';
import { operationalCounts } from './store/health.ts';
import type { Store } from './store/store.ts';
import type { ItemUsage } from './store/tasks.ts';

/**
 * Prometheus metrics (prom-client), one registry per process (tests run several apps in one).
 * Counters (HTTP, cells, LLM) count what this process did: scrape every API and worker process
 * (`cellwise worker` serves them on CELLWISE_METRICS_PORT). Gauges (tasks, pending items, live
 * workers, the extraction queue) are read from the database at scrape time: deployment-wide.
 */
export function createMetrics(store: Store) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cellwise_process_' });
  const registers = [registry];
  const http = new Counter({ name: 'cellwise_http_requests_total', help: 'HTTP requests by route pattern and status', labelNames: ['method', 'route', 'status'], registers });
  const latency = new Histogram({ name: 'cellwise_http_request_duration_seconds', help: 'HTTP request latency by route pattern', labelNames: ['method', 'route'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
  const cells = new Counter({ name: 'cellwise_cells_processed_total', help: 'Cells processed by this process, by task type and outcome (done, error)', labelNames: ['task_type', 'outcome'], registers });
  const llmCalls = new Counter({ name: 'cellwise_llm_calls_total', help: 'LLM calls sent to providers', labelNames: ['provider', 'model'], registers });
  const llmTokens = new Counter({ name: 'cellwise_llm_tokens_total', help: 'LLM tokens by direction (input, output)', labelNames: ['provider', 'model', 'direction'], registers });
  const llmCost = new Counter({ name: 'cellwise_llm_cost_usd_total', help: 'LLM cost in US dollars', labelNames: ['provider', 'model'], registers });
  const cacheHits = new Counter({ name: 'cellwise_llm_cache_hits_total', help: 'LLM answers served from the cache instead of a provider', labelNames: ['provider', 'model'], registers });
  const tasks = new Gauge({ name: 'cellwise_tasks', help: 'Tasks by status (deployment-wide)', labelNames: ['status'], registers });
  const pending = new Gauge({ name: 'cellwise_task_items_pending', help: 'Task items waiting or running (deployment-wide)', registers });
  const workers = new Gauge({ name: 'cellwise_workers_live', help: 'Engine processes with a live heartbeat (deployment-wide)', registers });
  const documents = new Gauge({ name: 'cellwise_documents_extraction_queue', help: 'Documents waiting for or in text extraction (deployment-wide)', registers });

  type CellSum = { taskType: string; outcome: string; model: string | undefined; cells: number; llmCalls: number; cachedCalls: number; inputTokens: number; outputTokens: number; costUsd: number };
  const pendingCells = new Map<string, CellSum>();
  function flushCells() {
    for (const sum of pendingCells.values()) {
      cells.inc({ task_type: sum.taskType, outcome: sum.outcome }, sum.cells);
      if (!sum.model) continue;
      const [provider = 'unknown', ...rest] = sum.model.split(':');
      const labels = { provider, model: rest.join(':') || sum.model };
      if (sum.llmCalls) llmCalls.inc(labels, sum.llmCalls);
      if (sum.cachedCalls) cacheHits.inc(labels, sum.cachedCalls);
      if (sum.inputTokens) llmTokens.inc({ ...labels, direction: 'input' }, sum.inputTokens);
      if (sum.outputTokens) llmTokens.inc({ ...labels, direction: 'output' }, sum.outputTokens);
      if (sum.costUsd) llmCost.inc(labels, sum.costUsd);
    }
    pendingCells.clear();
  }

  return {
    registry,
    observeRequest(o: RequestOutcome) {
      http.inc({ method: o.method, route: o.route, status: String(o.status) });
      latency.observe({ method: o.method, route: o.route }, o.durationMs / 1000);
    },
    /**
     * Called for every cell written, so it only adds to a running sum per label set; the counters
     * get the sums when read (render). Incrementing prom-client counters per cell (label objects
     * hashed for every increment) cost about as much as a cached cell itself.
     */
    observeCell(taskType: string, outcome: string, usage: ItemUsage & { model?: string }) {
      const key = `${taskType}\u0000${outcome}\u0000${usage.model ?? ''}`;
      let sum = pendingCells.get(key);
      if (!sum) pendingCells.set(key, (sum = { taskType, outcome, model: usage.model, cells: 0, llmCalls: 0, cachedCalls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 }));
      sum.cells++;
      sum.llmCalls += usage.llmCalls;
      sum.cachedCalls += usage.cachedCalls;
      sum.inputTokens += usage.inputTokens;
      sum.outputTokens += usage.outputTokens;
      sum.costUsd += usage.costUsd;
    },
    /** The Prometheus text exposition, with the database gauges read now. */
    async render(): Promise<string> {
      flushCells();
      const counts = await operationalCounts(store.db, new Date().toISOString());
      tasks.reset();
      for (const t of counts.tasksByStatus) tasks.set({ status: t.status }, t.count);
      pending.set(counts.pendingItems);
      workers.set(counts.liveWorkers);
      documents.set(counts.documentsProcessing);
      return registry.metrics();
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
