import Ajv from 'ajv';
import addFormats from 'ajv-formats';

type Spec = { paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> };

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function templateMatches(template: string, actualPath: string): boolean {
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
  return new RegExp(`^${pattern}$`, 'i').test(actualPath);
}

/**
 * Checks real responses against an OpenAPI 3.0 document: the route and status must be
 * documented, and a JSON body must match the documented schema.
 */
export function openApiValidator(spec: Spec) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(spec, 'spec');

  return function assertDocumented(
    method: string,
    actualPath: string,
    status: number,
    body: unknown,
  ): void {
    const pathOnly = actualPath.split('?')[0] ?? actualPath;
    // OpenAPI says a literal path wins over a templated one, so try the fewest parameters first.
    const template = Object.keys(spec.paths)
      .filter((t) => templateMatches(t, pathOnly))
      .sort((a, b) => a.split('{').length - b.split('{').length)[0];
    if (!template) throw new Error(`path ${pathOnly} is not in the OpenAPI spec`);
    const operation = spec.paths[template]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${template} is not in the OpenAPI spec`);
    const responses = operation.responses ?? {};
    const key =
      String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
    if (!key) throw new Error(`${method} ${template} does not document status ${status}`);
    const response = responses[key] as { content?: Record<string, unknown>; $ref?: string };
    const ref = [
      'spec#',
      'paths',
      escapePointer(template),
      method.toLowerCase(),
      'responses',
      key,
    ].join('/');
    const hasJson =
      response.$ref !== undefined || response.content?.['application/json'] !== undefined;
    if (!hasJson) return;
    const schemaRef = response.$ref
      ? `spec${response.$ref}/content/application~1json/schema`
      : `${ref}/content/application~1json/schema`;
    const validate = ajv.getSchema(schemaRef) ?? ajv.compile({ $ref: schemaRef });
    if (!validate(body)) {
      throw new Error(
        `${method} ${actualPath} ${status}: body does not match the spec: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
      );
    }
  };
}
