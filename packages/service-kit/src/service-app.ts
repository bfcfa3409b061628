import Koa, { type Middleware } from 'koa';
import Router, { type RouterOptions } from '@koa/router';
import { methodErrors } from './errors';
import { livenessEndpoint, readinessEndpoint, type ReadinessCheck } from './lifecycle';
import { metricsEndpoint } from './metrics';
import { loadOpenApiDocument, openApiEndpoint } from './openapi';
import { serviceMiddleware, type ServiceMiddlewareOptions } from './service-middleware';

export interface ServiceAppOptions extends ServiceMiddlewareOptions {
  /** The service's openapi.yaml, served as GET /openapi.json. */
  openApiFile: string;
  /** Dependencies GET /readyz checks, by the name it reports when one fails. */
  readiness: Record<string, ReadinessCheck>;
  /** Runs before GET /metrics, e.g. authGuard() where metrics say more than the public API. */
  metricsGuard?: Middleware;
  routerOptions?: RouterOptions;
  /** Run on every request between the shared stack and the routes, e.g. authentication. */
  beforeRoutes?: Middleware[];
  /** Adds the service's own routes. */
  routes(router: Router): void;
}

/**
 * The Koa app every service is: request id and access log, duration histogram, JSON errors,
 * in-flight tracking and the JSON 404 (serviceMiddleware), then /healthz, /readyz, /metrics
 * and /openapi.json next to the service's routes, and JSON 405s with `Allow`.
 */
export function createServiceApp(options: ServiceAppOptions): Koa {
  const { registry, lifecycle } = options;
  const router = new Router(options.routerOptions);
  router.get('/healthz', livenessEndpoint());
  router.get('/readyz', readinessEndpoint(lifecycle, options.readiness));
  const metrics = metricsEndpoint(registry);
  if (options.metricsGuard) router.get('/metrics', options.metricsGuard, metrics);
  else router.get('/metrics', metrics);
  router.get('/openapi.json', openApiEndpoint(loadOpenApiDocument(options.openApiFile)));
  options.routes(router);

  const app = new Koa();
  app.use(serviceMiddleware(options));
  for (const middleware of options.beforeRoutes ?? []) app.use(middleware);
  app.use(router.routes());
  app.use(router.allowedMethods(methodErrors));
  return app;
}
