import fs from 'node:fs';
import type { Context } from 'koa';
import YAML from 'yaml';

/** Reads an OpenAPI document written in YAML once, at startup. */
export function loadOpenApiDocument(file: string): Record<string, unknown> {
  return YAML.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** GET /openapi.json */
export function openApiEndpoint(document: Record<string, unknown>) {
  const body = JSON.stringify(document);
  return async function serveOpenApi(ctx: Context): Promise<void> {
    ctx.type = 'application/json';
    ctx.body = body;
  };
}
