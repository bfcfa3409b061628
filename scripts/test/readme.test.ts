import fs from 'node:fs';
import path from 'node:path';
import { serverLimitRules } from '@internal/service-kit';
import { repoRoot } from '@internal/test-kit';

// The README is the reviewer's path through the repository: everything it names must exist,
// and its configuration tables must list exactly what each service validates at startup.

const root = repoRoot();
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

/** Rule sets of service-kit that a schema spreads in (`...serverLimitRules(),`), by name. */
const SHARED_RULES: Record<string, () => Record<string, unknown>> = { serverLimitRules };

/** The keys of the Joi.object({...}) schema in a service's config.ts: its environment variables. */
function validatedVariables(configSource: string): string[] {
  const start = configSource.search(/Joi\.object(<[^>]*>)?\(\{/);
  if (start < 0) throw new Error('config.ts has no Joi.object({...}) schema');
  const schema = configSource.slice(start, configSource.indexOf('\n});', start));
  const own = [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1] as string);
  const spread = [...schema.matchAll(/^ {2}\.\.\.(\w+)\((\w*)\),$/gm)].flatMap((m) => {
    if (m[1] === 'tlsRules') return namesIn(configSource, m[2] as string);
    const rules = SHARED_RULES[m[1] as string];
    if (!rules) throw new Error(`config.ts spreads ${m[1]}(), unknown to this test`);
    return Object.keys(rules());
  });
  return [...own, ...spread];
}

/** The variable names a `const NAME = { field: 'VARIABLE', ... }` of config.ts holds (tlsRules(NAME)). */
function namesIn(configSource: string, constant: string): string[] {
  const start = configSource.indexOf(`const ${constant} = {`);
  if (start < 0) throw new Error(`config.ts has no const ${constant} = {...}`);
  const body = configSource.slice(start, configSource.indexOf('};', start));
  return [...body.matchAll(/'([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1] as string);
}

/** The backticked variable names in the first column of the table under `heading`. */
function documentedVariables(heading: string): string[] {
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README.md has no heading "${heading}"`);
  const section = readme.slice(at + heading.length + 2).split(/\n#{2,4} /)[0] ?? '';
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1] as string);
}

function scriptsOf(workspace: string): Record<string, string> {
  const manifest = JSON.parse(read(path.join(workspace, 'package.json'))) as {
    scripts?: Record<string, string>;
  };
  return manifest.scripts ?? {};
}

describe('README.md', () => {
  it('extracts variables from a config schema the way the services declare them', () => {
    const sample =
      'const schema = Joi.object({\n  PORT: envRules.port(1),\n  A_B: Joi.string(),\n});\n';
    expect(validatedVariables(sample)).toEqual(['PORT', 'A_B']);
    const spreading =
      "const TLS = { certFile: 'A_CERT', keyFile: 'A_KEY', caFile: 'A_CA' };\n" +
      'Joi.object({\n  PORT: envRules.port(1),\n  ...serverLimitRules(),\n  ...tlsRules(TLS),\n});\n';
    expect(validatedVariables(spreading)).toEqual([
      'PORT',
      'HTTP_HEADERS_TIMEOUT_MS',
      'HTTP_REQUEST_TIMEOUT_MS',
      'HTTP_KEEP_ALIVE_TIMEOUT_MS',
      'HTTP_MAX_CONNECTIONS',
      'A_CERT',
      'A_KEY',
      'A_CA',
    ]);
  });

  it.each([
    ['payment', '#### payment configuration'],
    ['antaeus', '#### antaeus configuration'],
  ])('documents exactly the variables %s validates', (service, heading) => {
    const validated = validatedVariables(read(`services/${service}/src/config.ts`));
    expect(validated.length).toBeGreaterThan(5);
    expect(documentedVariables(heading).sort()).toEqual([...validated].sort());
  });

  it('names only repository paths that exist', () => {
    const paths = new Set(
      [
        ...readme.matchAll(
          /[`(]((?:\.github|\.ci|argocd|deploy|packages|scripts|services|verification)\/[A-Za-z0-9_./-]*[A-Za-z0-9_-])/g,
        ),
      ]
        .map((m) => m[1] as string)
        .filter((p) => !p.includes('<')),
    );
    expect(paths.size).toBeGreaterThan(20);
    const missing = [...paths].filter((p) => !fs.existsSync(path.join(root, p)));
    expect(missing).toEqual([]);
  });

  it('names only npm commands that exist', () => {
    const commands = [...readme.matchAll(/npm (start|test|run ([a-z:-]+))(?: -w ([\w/.-]+))?/g)];
    expect(commands.length).toBeGreaterThan(5);
    const missing = commands
      .map(([text, verb, runName, workspace]) => {
        const script = runName ?? verb;
        return scriptsOf(workspace ?? '.')[script as string] ? undefined : text;
      })
      .filter(Boolean);
    expect(missing).toEqual([]);
  });

  it('names only scripts that are executable shell scripts or Node scripts', () => {
    const scripts = new Set([...readme.matchAll(/scripts\/[\w-]+\.(?:sh|mjs)/g)].map((m) => m[0]));
    expect(scripts.size).toBeGreaterThan(5);
    for (const script of scripts) {
      const text = read(script);
      expect(text.startsWith('#!') || script.endsWith('.mjs')).toBe(true);
    }
  });

  it('creates Secrets with the names and keys the Deployments reference', () => {
    const teams = path.join(root, 'deploy', 'teams');
    const manifests = fs
      .readdirSync(teams, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.yaml'))
      .map((file) => fs.readFileSync(path.join(teams, file), 'utf8'))
      .join('\n');
    const referenced = new Set(
      [...manifests.matchAll(/secretKeyRef:\s*\n\s*name: (\S+)\s*\n\s*key: (\S+)/g)].map(
        (m) => `${m[1]}/${m[2]}`,
      ),
    );
    const created = [
      ...readme.matchAll(/create secret generic (\S+) --from-(?:literal|file)=([A-Za-z0-9_.-]+)=/g),
    ].map((m) => `${m[1]}/${m[2]}`);
    expect(created.length).toBeGreaterThan(0);
    expect(created.filter((secret) => !referenced.has(secret))).toEqual([]);
    // Both ways: every Secret a workload needs has its creation command.
    expect([...referenced].filter((secret) => !created.includes(secret))).toEqual([]);
  });

  it('never puts a Secret value on a kubectl command line', () => {
    expect(readme).not.toMatch(/create secret generic \S+ --from-literal/);
    expect(readme).toMatch(/--from-file=tokens=\/dev\/stdin/);
  });

  it('gives the two commands of the quick start', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
  });
});
