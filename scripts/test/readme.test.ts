import fs from 'node:fs';
import path from 'node:path';
import { serverLimitRules } from '@internal/service-kit';
import { repoRoot } from '@internal/test-kit';

// README.md is the reviewer's path through the repository and docs/ holds the rest: everything
// they name must exist, every relative link must resolve, the configuration tables must list
// exactly what each service validates at startup, and README.md stays short and links every page.

const root = repoRoot();
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');
const readme = read('README.md');
/** README.md and every docs/*.md, by repository path. */
const pages: Record<string, string> = Object.fromEntries([
  ['README.md', readme],
  ...fs
    .readdirSync(path.join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .sort()
    .map((file) => [`docs/${file}`, read(`docs/${file}`)]),
]);
const docs = Object.keys(pages).filter((page) => page !== 'README.md');
const allText = Object.values(pages).join('\n');

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

/** The backticked variable names in the first column of the table under `heading`, in any page. */
function documentedVariables(heading: string): string[] {
  const found = Object.entries(pages).flatMap(([page, text]) => {
    const at = new RegExp(`^#{2,4} ${heading}$`, 'm').exec(text);
    return at ? [{ page, text, end: at.index + at[0].length }] : [];
  });
  if (found.length !== 1) {
    throw new Error(
      `expected one heading "${heading}" in README.md and docs/, found ${found.length}`,
    );
  }
  const [{ text, end }] = found as [{ page: string; text: string; end: number }];
  const section = text.slice(end + 1).split(/\n#{1,4} /)[0] ?? '';
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1] as string);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings. */
function anchorsIn(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] as string)));
}

/** The relative link targets `[text](target)` of a Markdown page, code blocks left out. */
function relativeLinks(markdown: string): string[] {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] as string)
    .filter((target) => !/^[a-z]+:/i.test(target));
}

function scriptsOf(workspace: string): Record<string, string> {
  const manifest = JSON.parse(read(path.join(workspace, 'package.json'))) as {
    scripts?: Record<string, string>;
  };
  return manifest.scripts ?? {};
}

describe('README.md and docs/', () => {
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
      'HTTP_CONNECTION_MAX_AGE_MS',
      'A_CERT',
      'A_KEY',
      'A_CA',
    ]);
  });

  it.each([
    ['payment', 'payment configuration'],
    ['antaeus', 'antaeus configuration'],
  ])('documents exactly the variables %s validates', (service, heading) => {
    const validated = validatedVariables(read(`services/${service}/src/config.ts`));
    expect(validated.length).toBeGreaterThan(5);
    expect(documentedVariables(heading).sort()).toEqual([...validated].sort());
  });

  it('finds the pages: README.md and the docs it moved out', () => {
    expect(docs).toEqual(
      expect.arrayContaining(
        [
          'architecture',
          'benchmarks',
          'configuration',
          'delivery',
          'lab',
          'operations',
          'security',
        ].map((name) => `docs/${name}.md`),
      ),
    );
  });

  it.each(Object.keys(pages))('%s names only repository paths that exist', (page) => {
    const paths = new Set(
      [
        ...(pages[page] as string).matchAll(
          /[`(]((?:\.github|\.ci|argocd|deploy|packages|scripts|services|verification|lab)\/[A-Za-z0-9_./-]*[A-Za-z0-9_-])/g,
        ),
      ]
        .map((m) => m[1] as string)
        .filter((p) => !p.includes('<')),
    );
    const missing = [...paths].filter((p) => !fs.existsSync(path.join(root, p)));
    expect(missing).toEqual([]);
  });

  it('names many repository paths, so the check above has something to check', () => {
    const named = allText.match(/`(?:\.github|argocd|deploy|scripts|services)\/[\w./-]+`/g) ?? [];
    expect(new Set(named).size).toBeGreaterThan(20);
  });

  it.each(Object.keys(pages))('%s has only relative links that resolve', (page) => {
    const broken = relativeLinks(pages[page] as string).filter((target) => {
      const [file = '', anchor] = target.split('#');
      const resolved = file === '' ? page : path.join(path.dirname(page), file);
      const absolute = path.join(root, resolved);
      if (!fs.existsSync(absolute)) return true;
      if (anchor === undefined || !resolved.endsWith('.md')) return false;
      return !anchorsIn(fs.readFileSync(absolute, 'utf8')).has(anchor);
    });
    expect(broken).toEqual([]);
  });

  it('checks links the way GitHub renders anchors', () => {
    expect(anchorOf('3. How are other services prevented?')).toBe(
      '3-how-are-other-services-prevented',
    );
    expect(anchorOf("The seed's check: deploy, pay")).toBe('the-seeds-check-deploy-pay');
    expect(relativeLinks('[a](b.md#c) [d](https://e) `x`\n```sh\n[f](g)\n```\n')).toEqual([
      'b.md#c',
    ]);
  });

  it.each(Object.keys(pages))('%s names only npm commands that exist', (page) => {
    const commands = [
      ...(pages[page] as string).matchAll(/npm (start|test|run ([a-z:-]+))(?: -w ([\w/.-]+))?/g),
    ];
    const missing = commands
      .map(([text, verb, runName, workspace]) => {
        const script = runName ?? verb;
        return scriptsOf(workspace ?? '.')[script as string] ? undefined : text;
      })
      .filter(Boolean);
    expect(missing).toEqual([]);
  });

  it('names npm commands, so the check above has something to check', () => {
    expect([...allText.matchAll(/npm (start|test|run [a-z:-]+)/g)].length).toBeGreaterThan(5);
  });

  it('names only scripts that are executable shell scripts or Node scripts', () => {
    const scripts = new Set(
      [...allText.matchAll(/(?:lab\/)?scripts\/[\w-]+\.(?:sh|mjs)/g)].map((m) => m[0]),
    );
    // The generators are `npx delivery generate` now: a few scripts are left to name.
    expect(scripts.size).toBeGreaterThan(2);
    for (const script of scripts) {
      const text = read(script);
      expect(text.startsWith('#!') || script.endsWith('.mjs')).toBe(true);
    }
  });

  it('lists, in both Secret tables, exactly the Secrets and keys the Deployments and ServiceMonitors read', () => {
    const teams = path.join(root, 'deploy', 'teams');
    const manifests = fs
      .readdirSync(teams, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.yaml'))
      .map((file) => fs.readFileSync(path.join(teams, file), 'utf8'))
      .join('\n');
    const referenced = [
      ...new Set(
        [
          ...manifests.matchAll(
            /(?:secretKeyRef|credentials):\s*\n\s*name: (\S+)\s*\n\s*key: (\S+)/g,
          ),
        ].map((m) => `${m[1]}/${m[2]}`),
      ),
    ].sort();
    expect(referenced.length).toBeGreaterThan(0);
    // docs/operations.md: | `secret` (`namespace`) | `key` |; deploy/README.md: | `namespace` | `secret` | `key` |
    const rows = (text: string, row: RegExp) =>
      [...new Set([...text.matchAll(row)].map((m) => `${m[1]}/${m[2]}`))].sort();
    expect(
      rows(read('docs/operations.md'), /^\| `([a-z0-9-]+)` \(`[^`]+`\) \| `([a-z0-9-]+)` \|/gm),
    ).toEqual(referenced);
    expect(
      rows(read('deploy/README.md'), /^\| `[^`]+` \| `([a-z0-9-]+)` \| `([a-z0-9-]+)` \|/gm),
    ).toEqual(referenced);
  });

  it('never puts a Secret value on a command line: npm run seal reads it from a pipe', () => {
    expect(allText).not.toMatch(/create secret generic \S+ --from-literal/);
    // Every example with a real environment; the usage line `npm run seal -- <env> ...` names none.
    const seals = allText
      .split('\n')
      .filter(
        (line) => line.includes('npm run seal --') && !line.includes('npm run seal -- <env>'),
      );
    expect(seals.length).toBeGreaterThan(0);
    for (const line of seals) expect(line).toMatch(/\| npm run seal -- /);
  });

  it('names only the pinned Argo CD release in install commands', () => {
    const pinned = /^ARGO_CD_VERSION=(\S+)$/m.exec(read('scripts/tools.versions'))?.[1];
    expect(pinned).toBeDefined();
    const releases = allText.match(/argoproj\/argo-cd\/[^/\s]+\/manifests/g) ?? [];
    expect(releases.length).toBeGreaterThan(0);
    expect(new Set(releases)).toEqual(new Set([`argoproj/argo-cd/${pinned}/manifests`]));
  });

  it('gives the two commands of the quick start', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
  });

  it('is a short path: README.md has fewer than 200 lines', () => {
    expect(readme.split('\n').length).toBeLessThan(200);
  });

  it('links every page of docs/ from README.md', () => {
    const linked = new Set(relativeLinks(readme).map((target) => target.split('#')[0]));
    expect(docs.filter((page) => !linked.has(page))).toEqual([]);
  });
});
