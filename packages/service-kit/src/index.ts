export { ConfigError, parseEnv, envRules } from './config';
export type { ParseEnvOptions } from './config';
export {
  SHARED_CALLER,
  authGuard,
  authMode,
  metricsAuthGuard,
  bearerAuth,
  bearerTokenList,
  parseTokenEntry,
  resolveBearerAuth,
} from './auth';
export type { AuthFailure, BearerAuthConfig, BearerAuthVariables, TokenEntry } from './auth';
export { createLogger } from './logger';
export type { Logger } from './logger';
export {
  HttpError,
  answerError,
  errorHandler,
  notFound,
  methodErrors,
  unansweredError,
} from './errors';
export type { ErrorBody } from './errors';
export { bodyLimit, jsonBody } from './json-body';
export { logRequest, requestContext, startRequest } from './request-context';
export { serviceMiddleware } from './service-middleware';
export type { ServiceMiddlewareOptions } from './service-middleware';
export { createServiceApp } from './service-app';
export type { ServiceAppOptions } from './service-app';
export { createMetricsRegistry, durationRecorder, httpMetrics, metricsEndpoint } from './metrics';
export { Lifecycle, livenessEndpoint, readinessEndpoint } from './lifecycle';
export type { ReadinessCheck } from './lifecycle';
export { loadOpenApiDocument, openApiEndpoint } from './openapi';
export { serve, runMain } from './server';
export type { ServeOptions, RunningServer, ServerTls } from './server';
export { loadTls, readTlsFiles, tlsRules, watchTls } from './tls';
export type { TlsFiles, TlsMaterial, TlsVariables } from './tls';
export { SERVER_LIMIT_DEFAULTS, readServerLimits, serverLimitRules } from './server-limits';
export type { ServerLimits } from './server-limits';
