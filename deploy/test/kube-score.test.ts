import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { tool } from '@internal/test-kit';
import {
  DELIVERY_CLI,
  DEPLOY_DIR,
  ENVIRONMENTS,
  ROOT,
  imageRegistryPath,
  readSettings,
} from './support/manifests';

// `delivery check-manifests` is what `npm run check:manifests` and CI run on the manifests; these
// tests run its static checks (kustomize, kubeconform, kube-score, image digests, scope,
// workloads) on every target, for real.


function checkManifests(...args: string[]) {
  const result = spawnSync(process.execPath, [DELIVERY_CLI, 'check-manifests', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const targets = checkManifests('--targets').output.trim().split('\n');

describe('the targets of delivery check-manifests', () => {
  it('are every environment of catalogue.yaml and the platform layer', () => {
    expect(targets).toEqual([...ENVIRONMENTS.map((env) => `deploy/envs/${env}`), 'deploy/platform']);
  });

  it('make `npm run check:manifests`, which CI runs', () => {
    const scripts = (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    expect(scripts['check:manifests']).toBe('delivery check-manifests');
    const ci = fs.readFileSync(path.join(ROOT, '.github', 'workflows', 'ci.yml'), 'utf8');
    expect(ci).toMatch(/^\s+run: npm run check:manifests$/m);
  });
});

describe.each(targets)('%s', (target) => {
  it('renders, passes kubeconform, has zero CRITICAL kube-score findings, pins images by digest, stays in scope and wires its workloads', () => {
    const { status, output } = checkManifests('--static', target);
    if (status !== 0) throw new Error(output);
    expect(output).toMatch(new RegExp(`^ok {3}${target}: kubeconform, \\d+ objects valid$`, 'm'));
    expect(output).toMatch(new RegExp(`^ok {3}${target}: kube-score, 0 critical, \\d+ warnings$`, 'm'));
    expect(output).toMatch(new RegExp(`^ok {3}${target}: images, `, 'm'));
    expect(output).toMatch(new RegExp(`^ok {3}${target}: scope, `, 'm'));
    expect(output).toMatch(new RegExp(`^ok {3}${target}: workloads, `, 'm'));
  });
});

describe('delivery check-manifests --static on a broken kustomization', () => {
  let dir: string;
  const write = (objects: object[]) => {
    fs.writeFileSync(
      path.join(dir, 'objects.yaml'),
      objects.map((o) => YAML.stringify(o)).join('---\n'),
    );
    fs.writeFileSync(
      path.join(dir, 'kustomization.yaml'),
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [objects.yaml]\n',
    );
  };
  // Valid for the schemas, but with no resources, probes or security context.
  const bare = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'bare', namespace: 'somewhere' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'bare' } },
      template: {
        metadata: { labels: { app: 'bare' } },
        spec: { containers: [{ name: 'main', image: 'example.com/bare:1.0.0' }] },
      },
    },
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-manifests-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fails on a CRITICAL finding and names the object, the container and the test', () => {
    write([bare]);
    const { status, output } = checkManifests('--static', dir);
    expect(status).toBe(1);
    expect(output).toMatch(new RegExp(`^FAIL ${dir}: kube-score, [1-9]\\d* critical`, 'm'));
    expect(output).toMatch(
      /CRITICAL Deployment\/somewhere\/bare \(main\): CPU limit is not set \[container-resources\]/,
    );
  });

  it('fails on a field the schema does not define', () => {
    write([{ ...bare, spec: { ...bare.spec, replica: 2 } }]);
    const { status, output } = checkManifests('--static', dir);
    expect(status).toBe(1);
    expect(output).toMatch(new RegExp(`^FAIL ${dir}: kubeconform`, 'm'));
    expect(output).toMatch(/additional properties 'replica' not allowed/);
  });

  it('honours a kube-score/ignore annotation, test by test', () => {
    const ignoring = (tests: string) => ({
      ...bare,
      metadata: { ...bare.metadata, annotations: { 'kube-score/ignore': tests } },
    });
    write([ignoring('container-resources')]);
    const some = checkManifests('--static', dir).output;
    expect(some).not.toMatch(/\[container-resources\]/);
    expect(some).toMatch(/\[container-security-context-user-group-id\]/);
  });

  /** The bare Deployment running this pod spec. */
  const runningPod = (spec: object) => ({
    ...bare,
    spec: { ...bare.spec, template: { ...bare.spec.template, spec } },
  });

  it('fails on an image without a digest, naming the object, the container and the image', () => {
    const withInit = (image: string) =>
      runningPod({ ...bare.spec.template.spec, initContainers: [{ name: 'setup', image }] });
    write([withInit(`example.com/setup:2.0.0@sha256:${'ab'.repeat(32)}`)]);
    expect(checkManifests('--static', dir).output).toMatch(
      /^FAIL \S+: images\n {7}Deployment\/somewhere\/bare containers main: image example\.com\/bare:1\.0\.0 is not pinned by digest \(repo:tag@sha256:<64 hex>\)$/m,
    );
    write([withInit('example.com/setup:2.0.0')]);
    expect(checkManifests('--static', dir).output).toMatch(
      /^ {7}Deployment\/somewhere\/bare initContainers setup: image example\.com\/setup:2\.0\.0 is not pinned/m,
    );
  });

  it("exempts exactly the project's own service images, whose digest the release writes", () => {
    const registry = imageRegistryPath().toLowerCase();
    const running = (image: string) => runningPod({ containers: [{ name: 'main', image }] });
    write([running(`${registry}/payment:1.0.0`)]);
    expect(checkManifests('--static', dir).output).toMatch(new RegExp(`^ok {3}\\S+: images, `, 'm'));
    for (const image of [`${registry}/payment-fork:1.0.0`, `${registry}-fork/payment:1.0.0`]) {
      write([running(image)]);
      expect(checkManifests('--static', dir).output).toContain(`image ${image} is not pinned by digest`);
    }
  });

  it('fails on an autoscaler whose target this kustomization does not render, naming the field', () => {
    const autoscaler = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'bare', namespace: 'somewhere' },
      spec: {
        scaleTargetRef: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'bare' },
        minReplicas: 2,
        maxReplicas: 3,
      },
    };
    write([bare, autoscaler]);
    expect(checkManifests('--static', dir).output).toMatch(
      /^FAIL \S+: workloads\n {7}HorizontalPodAutoscaler\/somewhere\/bare: spec\.scaleTargetRef names Rollout bare \(argoproj\.io\/v1alpha1\), which this target does not render in somewhere$/m,
    );
  });

  it('refuses a directory without a kustomization', () => {
    const { status, output } = checkManifests('--static', path.join(dir, 'missing'));
    expect(status).toBe(2);
    expect(output).toMatch(/missing is not a kustomization directory/);
  });
});

describe('kube-score exceptions', () => {
  const yamlFiles = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : yamlFiles(full);
      return entry.name.endsWith('.yaml') ? [full] : [];
    });
  const known = new Set(
    spawnSync(tool('kube-score'), ['list'], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((line) => line.split(',')[0])
      .filter(Boolean),
  );

  it('every kube-score/ignore annotation names real tests and has a comment saying why just above', () => {
    const annotations = yamlFiles(DEPLOY_DIR).flatMap((file) => {
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      return lines.flatMap((line, index) => {
        const match = /^\s*kube-score\/ignore: (\S+)$/.exec(line);
        if (!match) return [];
        // The reason is a comment within the few lines above: the annotations key, or a patch
        // operation's op/path/value lines, may stand between.
        const commented = lines.slice(Math.max(0, index - 5), index).some((l) => /^\s*#/.test(l));
        const where = `${path.relative(ROOT, file)}:${index + 1}`;
        return [{ where, commented, unknown: match[1]!.split(',').filter((t) => !known.has(t)) }];
      });
    });
    expect(annotations.length).toBeGreaterThan(0);
    for (const annotation of annotations)
      expect(annotation).toEqual({ where: annotation.where, commented: true, unknown: [] });
  });

  it('deploy/kube-score.yaml names real tests, each ignored one with its reason', () => {
    const config = YAML.parse(fs.readFileSync(path.join(DEPLOY_DIR, 'kube-score.yaml'), 'utf8')) as {
      optionalTests: string[];
      ignoredTests: Record<string, string>;
      targets: Record<string, { ignoredTests: Record<string, string> }>;
    };
    const ignored = [
      ...Object.entries(config.ignoredTests),
      ...Object.values(config.targets).flatMap((t) => Object.entries(t.ignoredTests)),
    ];
    expect(config.optionalTests.filter((t) => !known.has(t))).toEqual([]);
    for (const [test, reason] of ignored) {
      expect([test, known.has(test)]).toEqual([test, true]);
      expect(reason.length).toBeGreaterThan(40);
    }
    expect(Object.keys(config.targets).filter((t) => !targets.includes(t))).toEqual([]);
  });

  it('is the kube-score pinned in scripts/tools.versions', () => {
    const pinned = readSettings(path.join(ROOT, 'scripts', 'tools.versions')).KUBE_SCORE_VERSION;
    const result = spawnSync('go', ['version', '-m', tool('kube-score')], { encoding: 'utf8' });
    expect(result.stdout).toMatch(
      new RegExp(`mod\\s+github\\.com/zegl/kube-score\\s+${pinned?.replace(/\./g, '\\.')}\\s`),
    );
  });
});
