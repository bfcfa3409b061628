import type { Context, Next } from 'koa';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A Prometheus registry per app, so tests can build several apps in one process. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Records request durations by route template (never the raw path, which would explode the
 * label space) and status. Unrouted requests share the `unmatched` label.
 */
export function durationRecorder(registry: Registry) {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // observe() with the labels in one object: startTimer() would copy them and time with
  // process.hrtime() arrays, which cost more than the observation itself.
  return (ctx: Context, seconds: number): void => {
    const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
    duration.observe(
      { method: ctx.method, route: String(route), status: String(ctx.status) },
      seconds,
    );
  };
}

/** Times every request (durationRecorder) as a middleware of its own. */
export function httpMetrics(registry: Registry) {
  const record = durationRecorder(registry);
  return async function recordDuration(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    try {
      await next();
    } finally {
      record(ctx, (performance.now() - started) / 1000);
    }
  };
}

/** GET /metrics in the Prometheus text format. */
export function metricsEndpoint(registry: Registry) {
  return async function serveMetrics(ctx: Context): Promise<void> {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  };
}
