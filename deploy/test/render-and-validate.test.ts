import { spawnSync } from 'node:child_process';
import path from 'node:path';
import YAML from 'yaml';
import { tool } from '@internal/test-kit';
import {
  DELIVERY_CLI,
  DEPLOY_DIR,
  KUSTOMIZATIONS,
  ROOT,
  render,
  renderYaml,
} from './support/manifests';

/** Runs `delivery kubeconform` on YAML given on stdin. */
function kubeconform(yaml: string) {
  const result = spawnSync(process.execPath, [DELIVERY_CLI, 'kubeconform', '-'], {
    input: yaml,
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function summary(output: string) {
  const match =
    /Summary: (\d+) resources? found .* Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)/.exec(
      output,
    );
  if (!match) throw new Error(`kubeconform printed no summary:\n${output}`);
  const [found, valid, invalid, errors, skipped] = match.slice(1).map(Number);
  return { found, valid, invalid, errors, skipped };
}

describe.each(KUSTOMIZATIONS)('deploy/%s', (dir) => {
  it('renders with the pinned kustomize', () => {
    const objects = render(dir);
    expect(objects.length).toBeGreaterThan(0);
    for (const object of objects) {
      expect(object.metadata.labels?.['app.kubernetes.io/part-of']).toBe('payments-platform');
      expect(object.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('kustomize');
      // Cluster-wide platform objects (the deployer-token guard, the internal CAs' issuers) and the
      // CAs' Certificates in cert-manager's namespace belong to the platform team.
      const platformOwned =
        !object.metadata.namespace || object.metadata.namespace === 'cert-manager';
      const owners = platformOwned ? ['payments', 'billing', 'platform'] : ['payments', 'billing'];
      expect([object.kind, owners]).toEqual([
        object.kind,
        expect.arrayContaining([object.metadata.labels?.team]),
      ]);
    }
  });

  it('passes kubeconform -strict with every resource validated against a local schema', () => {
    const { status, output } = kubeconform(renderYaml(dir));
    const counts = summary(output);
    if (status !== 0 || counts.valid !== render(dir).length)
      throw new Error(`kubeconform:\n${output}`);
    expect(counts).toEqual({
      found: render(dir).length,
      valid: render(dir).length,
      invalid: 0,
      errors: 0,
      skipped: 0,
    });
  });
});

describe('kubeconform setup (delivery kubeconform)', () => {
  it('rejects a field the Kubernetes schema does not define', () => {
    const { status, output } = kubeconform(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  colour: blue\ndata: {}\n',
    );
    expect(status).not.toBe(0);
    expect(output).toMatch(/additional properties 'colour' not allowed/);
  });

  it('rejects a field the Argo CD CRD schema does not define, and accepts a valid AppProject', () => {
    const project = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AppProject',
      metadata: { name: 'p', namespace: 'argocd' },
      spec: {
        sourceRepos: ['https://example.com/repo.git'],
        destinations: [{ server: 'https://kubernetes.default.svc', namespace: 'team-a' }],
      },
    };
    expect(kubeconform(YAML.stringify(project)).status).toBe(0);
    const { status, output } = kubeconform(
      YAML.stringify({ ...project, spec: { ...project.spec, sourceRepo: 'typo' } }),
    );
    expect(status).not.toBe(0);
    expect(output).toMatch(/additional properties 'sourceRepo' not allowed/);
  });

  it('keeps fields open where the CRD preserves unknown fields', () => {
    const application = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'a', namespace: 'argocd' },
      spec: {
        project: 'default',
        destination: { server: 'https://kubernetes.default.svc', namespace: 'team-a' },
        source: {
          repoURL: 'https://example.com/repo.git',
          path: 'deploy',
          helm: { valuesObject: { any: { nested: true } } },
        },
      },
    };
    const { status, output } = kubeconform(YAML.stringify(application));
    if (status !== 0) throw new Error(output);
  });

  it('fails, never skips, a kind it has no schema for', () => {
    const { status, output } = kubeconform(
      'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n',
    );
    expect(status).not.toBe(0);
    expect(output).toMatch(/could not find schema for Widget/);
  });

  it('is the pinned kubeconform', () => {
    const result = spawnSync('go', ['version', '-m', tool('kubeconform')], { encoding: 'utf8' });
    expect(result.stdout).toMatch(/mod\s+github\.com\/yannh\/kubeconform\s+v0\.7\.0/);
    expect(DEPLOY_DIR).toBe(path.join(ROOT, 'deploy'));
  });
});
