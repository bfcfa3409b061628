import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kustomizeBuild, repoRoot, tool, toolsDir } from '@internal/test-kit';
import YAML from 'yaml';
import { generatePathsOf, isCovered, MANIFEST_GENERATE_PATHS } from '../support/argocd/app-paths';
import { renderedDirectories } from '../support/argocd/kustomize-paths';
import type { AppProject, Application } from '../support/argocd/objects';
import { elementsOf } from '../support/argocd/service-apps';

const projectNamed = (name: string): AppProject => {
  const project = config.projects.find((candidate) => candidate.metadata.name === name);
  if (project === undefined) throw new Error(`no AppProject named ${name}`);
  return project;
};
import { argoCdConfig, argocdDir } from '../support/argocd/helpers';
import { DELIVERY_CLI } from '../support/manifests';

const config = argoCdConfig();
const root = repoRoot();

function kubeconform(input: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [DELIVERY_CLI, 'kubeconform', '-'], {
    input,
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('Argo CD objects validate strictly against the pinned Argo CD CRD schemas', () => {
  test('kustomize build argocd/ renders exactly the objects the root app manages', () => {
    const rendered = kustomizeBuild(argocdDir).map((obj) => `${obj.kind}/${obj.metadata.name}`);
    expect(rendered.sort()).toEqual(
      config.objects.map((obj) => `${obj.kind}/${obj.metadata.name}`).sort(),
    );
  });

  test('the CRD schemas kubeconform uses are those of the Argo CD release scripts/tools.versions pins', () => {
    const source = fs
      .readFileSync(path.join(toolsDir(), 'schemas', 'crds', '.source'), 'utf8')
      .trim();
    // One module@version per converted module (Argo CD, then the others' CRDs).
    const argoCd = source.split(' ').filter((module) => module.includes('/argoproj/argo-cd/'));
    const pinned = /^ARGO_CD_VERSION=(\S+)$/m.exec(
      fs.readFileSync(path.join(repoRoot(), 'scripts', 'tools.versions'), 'utf8'),
    )?.[1];
    expect(argoCd).toEqual([`github.com/argoproj/argo-cd/v3@${pinned}`]);
  });

  test('kubeconform -strict accepts every object under argocd/', () => {
    const rendered = execFileSync(tool('kustomize'), ['build', argocdDir], { encoding: 'utf8' });
    const result = kubeconform(rendered);
    if (result.status !== 0) console.error(result.output);
    expect(result.status).toBe(0);
    expect(result.output).toMatch(
      new RegExp(`Valid: ${config.objects.length}, Invalid: 0, Errors: 0, Skipped: 0`),
    );
  });

  test('the committed ApplicationSets are what `delivery generate` writes from catalogue.yaml', () => {
    const result = spawnSync(
      process.execPath,
      [DELIVERY_CLI, 'generate', '--check', 'applicationsets'],
      { cwd: root, encoding: 'utf8' },
    );
    expect(`${result.stdout}${result.stderr}`).toMatch(/files match catalogue.yaml/);
    expect(result.status).toBe(0);
  });

  test('the same pipeline rejects a misspelt Application field (the schemas are really strict)', () => {
    const app = structuredClone(config.applications[0]) as Application & {
      spec: Record<string, unknown>;
    };
    app.spec.syncPolicy = {
      ...app.spec.syncPolicy,
      automated: { prune: true, selfHael: true } as never,
    };
    const result = kubeconform(YAML.stringify(app));
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/selfHael/);
  });
});

/** Every Application: those written out, and one per element of each ApplicationSet. */
const everyApp = [
  ...config.applications.map((app) => ({
    name: app.metadata.name,
    project: app.spec.project,
    path: app.spec.source.path,
    generatePaths: app.metadata.annotations?.[MANIFEST_GENERATE_PATHS],
  })),
  ...config.applicationSets.flatMap((appSet) =>
    elementsOf(appSet).map((element) => ({
      name: `${element.service}-${element.environment}`,
      project: appSet.spec.template.spec.project,
      path: element.path,
      generatePaths: element.generatePaths,
    })),
  ),
];

describe.each(everyApp.map((app) => [app.name, app] as const))('Application %s', (_name, app) => {
  const appDir = path.join(root, app.path);

  // Whether its project permits every object is answered by the real Argo CD syncing it in
  // the lab (lab/test/bootstrap.test.ts, lab/test/projects.test.ts).
  test('its path exists and builds with kustomize', () => {
    expect(fs.existsSync(path.join(appDir, 'kustomization.yaml'))).toBe(true);
    expect(kustomizeBuild(appDir).length).toBeGreaterThan(0);
  });

  test('manifest-generate-paths covers every directory it renders, and nothing of another service', () => {
    const generatePaths = generatePathsOf(app.generatePaths, app.path, root);
    expect(generatePaths.length).toBeGreaterThan(0);
    expect(renderedDirectories(appDir).filter((dir) => !isCovered(dir, generatePaths))).toEqual([]);
    const serviceRoot = path.resolve(appDir, '..', '..');
    if (app.project !== 'platform') {
      // Platform inputs it renders may refresh it (deploy/platform/internal-ingress names the
      // Ingress class); no other service's directory may.
      const teams = path.join(root, 'deploy', 'teams');
      expect(
        generatePaths.filter(
          (covering) => isCovered(covering, [teams]) && !isCovered(covering, [serviceRoot]),
        ),
      ).toEqual([]);
    }
  });
});

/** Names of the Secrets an object refers to (env, envFrom, volumes, TLS, image pulls). */
function referencedSecrets(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedSecrets(item, found);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (
        (key === 'secretKeyRef' || key === 'secretRef') &&
        typeof (child as { name?: unknown }).name === 'string'
      ) {
        found.add((child as { name: string }).name);
      } else if (key === 'secretName' && typeof child === 'string') {
        found.add(child);
      } else if (key === 'imagePullSecrets' && Array.isArray(child)) {
        for (const ref of child as { name?: string }[])
          if (ref.name !== undefined) found.add(ref.name);
      }
      referencedSecrets(child, found);
    }
  }
  return found;
}

test.each(config.applicationSets.map((appSet) => appSet.spec.template.spec.project))(
  '%s: each Secret its apps refer to is sealed in Git, or made in the cluster and ignored by orphan monitoring',
  (team) => {
    const referenced = new Set<string>();
    const sealed = new Set<string>();
    for (const app of everyApp.filter((candidate) => candidate.project === team)) {
      const objects = kustomizeBuild(path.join(root, app.path));
      referencedSecrets(objects, referenced);
      for (const object of objects)
        if (object.kind === 'SealedSecret') sealed.add(object.metadata.name);
    }
    const ignored = (projectNamed(team).spec.orphanedResources?.ignore ?? [])
      .filter((entry) => entry.kind === 'Secret')
      .map((entry) => entry.name);
    // A SealedSecret's Secret is owned by it, so Argo CD never reports it as an orphan.
    expect(ignored.sort()).toEqual([...referenced].filter((name) => !sealed.has(name)).sort());
    expect([...sealed].filter((name) => !referenced.has(name))).toEqual([]);
  },
);

describe('renderedDirectories follows a kustomization into what it renders', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'argocd-paths-'));
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
      fs.writeFileSync(path.join(scratch, file), text);
    };
    write('base/kustomization.yaml', 'resources: [deployment.yaml]\n');
    write('base/deployment.yaml', 'kind: Deployment\n');
    write('components/probes/kustomization.yaml', 'kind: Component\n');
    write('config/app.env', 'A=1\n');
    write(
      'overlays/one/kustomization.yaml',
      'resources: [../../base]\ncomponents: [../../components/probes]\nconfigMapGenerator: [{name: c, envs: [../../config/app.env]}]\n',
    );
    write(
      'remote/kustomization.yaml',
      'resources: [https://github.com/example/repo//deploy?ref=v1]\n',
    );
  });
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  test('bases, components and generator inputs are all included', () => {
    expect(renderedDirectories(path.join(scratch, 'overlays/one'))).toEqual(
      ['base', 'components/probes', 'config', 'overlays/one'].map((dir) => path.join(scratch, dir)),
    );
  });

  test('a remote resource is refused, since no commit here could refresh it', () => {
    expect(() => renderedDirectories(path.join(scratch, 'remote'))).toThrow(
      /renders the remote https:\/\/github.com/,
    );
  });
});
