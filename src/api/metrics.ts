import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Core } from '../runtime/core.js';

export type WebhookOutcome = 'accepted' | 'error' | 'invalid_signature';

/**
 * The process's Prometheus metrics, in a registry of their own (never prom-client's global one:
 * several cores can live in one process, in tests). Counts of tasks are read from the store at
 * scrape time, so they survive restarts; durations and tokens are observed as they happen.
 */
export function createMetrics(core: Core) {
  const { store, bus } = core;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // A gauge, though named `_total`: it is a count of stored tasks by state, and the non-final
  // states (queued, running) go down as well as up.
  new Gauge({
    name: 'autocoder_runs_total',
    help: 'Tasks in the store by state, end reason and source',
    labelNames: ['state', 'end_reason', 'source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const row of store.countByOutcome()) {
        this.set({ state: row.state, end_reason: row.endReason ?? 'none', source: row.source }, row.count);
      }
    },
  });
  const duration = new Histogram({
    name: 'autocoder_run_duration_seconds',
    help: 'Wall-clock time of runs from start to finish',
    labelNames: ['source', 'end_reason'],
    buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    registers: [registry],
  });
  new Gauge({
    name: 'autocoder_queue_depth',
    help: 'Tasks waiting in the queue',
    registers: [registry],
    collect() {
      this.set(store.countByState().queued ?? 0);
    },
  });
  new Gauge({
    name: 'autocoder_running_tasks',
    help: 'Tasks running now',
    registers: [registry],
    collect() {
      this.set(store.countByState().running ?? 0);
    },
  });
  const tokens = new Counter({
    name: 'autocoder_tokens_total',
    help: 'Model tokens used by runs of this process',
    labelNames: ['kind'],
    registers: [registry],
  });
  // Only when prices are configured (AUTOCODER_PRICE_PER_MTOK_*): usage then carries its cost.
  const cost = new Counter({
    name: 'autocoder_cost_usd_total',
    help: 'Model cost of runs of this process in USD, from the configured prices per token',
    registers: [registry],
  });
  const webhooks = new Counter({
    name: 'autocoder_webhook_deliveries_total',
    help: 'GitHub webhook deliveries by event and outcome (accepted: signature valid; error: a handler failed; invalid_signature)',
    labelNames: ['event', 'outcome'],
    registers: [registry],
  });
  // Zero rows, so a dashboard shows 0 rather than "no data" before the first run.
  tokens.inc({ kind: 'prompt' }, 0);
  tokens.inc({ kind: 'completion' }, 0);

  // Tasks seen running; a duration is observed when one of them reaches `finished`. Only the
  // running ones are remembered, so the set stays as small as the queue's concurrency.
  const running = new Set<string>();
  const offChange = bus.onTaskChanged((taskId, addedState) => {
    // Every delivery taken in is a change. A task just added was never seen running, so its state
    // as added is all there is to know (nothing is read back); otherwise its state alone says
    // whether the whole row is needed.
    if (addedState !== undefined) {
      if (addedState === 'running') running.add(taskId);
      return;
    }
    const state = store.stateOf(taskId);
    if (state === 'running') {
      running.add(taskId);
      return;
    }
    if (!running.delete(taskId) || state !== 'finished') return;
    const task = store.get(taskId);
    if (task?.startedAt && task.finishedAt) {
      const seconds = (Date.parse(task.finishedAt) - Date.parse(task.startedAt)) / 1000;
      duration.observe({ source: task.source, end_reason: task.endReason ?? 'none' }, Math.max(0, seconds));
    }
  });
  const offEvent = bus.onAnyEvent((event) => {
    if (event.type !== 'usage') return;
    tokens.inc({ kind: 'prompt' }, event.usage.promptTokens);
    tokens.inc({ kind: 'completion' }, event.usage.completionTokens);
    if (event.usage.costUsd) cost.inc(event.usage.costUsd);
  });

  return {
    registry,
    webhookDelivery(event: string, outcome: WebhookOutcome): void {
      webhooks.inc({ event: event || 'unknown', outcome });
    },
    async render(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    stop(): void {
      offChange();
      offEvent();
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
