import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@internal/test-kit';
import YAML from 'yaml';
import { catalogue } from './support/catalogue';
import { expectedServiceApplications } from './support/expected-apps';
import {
  LAB_REPO,
  application,
  argocd,
  commitAndPush,
  eventually,
  kubectl,
  kubectlJson,
  labEnv,
  must,
  refresh,
  revertAndPush,
} from './support/lab';

// What the real ApplicationSet controller makes of argocd/applicationsets/ (generated from
// catalogue.yaml), read back from the API server, and what it refuses to let an element do.

type LiveApp = {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec: Record<string, unknown> & { project?: string };
  status?: { conditions?: { type: string; message: string }[] };
};
type LiveAppSet = {
  metadata: { name: string };
  spec: Record<string, unknown> & {
    generators: { list: { elements: Record<string, unknown>[] } }[];
  };
  status?: { conditions?: { type: string; status: string; message: string }[] };
};

const GENERATE_PATHS = 'argocd.argoproj.io/manifest-generate-paths';
const liveApps = () =>
  kubectlJson<{ items: LiveApp[] }>('-n', 'argocd', 'get', 'applications').items;
const liveAppSet = (name: string) =>
  kubectlJson<LiveAppSet>('-n', 'argocd', 'get', 'applicationset', name);
const appOwner = (app: LiveApp) =>
  app.metadata.ownerReferences?.find(
    (owner) => owner.kind === 'ApplicationSet' && owner.controller,
  );
const condition = (appSet: LiveAppSet, type: string) =>
  appSet.status?.conditions?.find((candidate) => candidate.type === type);

/** Applies an ApplicationSet made from a live team one, with other elements, as a platform admin. */
function applyVariant(name: string, team: string, elements: Record<string, unknown>[]) {
  const { spec } = liveAppSet(team);
  const variant = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'ApplicationSet',
    metadata: { name, namespace: 'argocd' },
    spec: { ...spec, generators: [{ list: { elements } }] },
  };
  must('kubectl', ['-n', 'argocd', 'apply', '-f', '-'], { input: JSON.stringify(variant) });
}

async function deleteVariant(name: string, apps: string[]) {
  kubectl('-n', 'argocd', 'delete', 'applicationset', name, '--ignore-not-found', '--wait=false');
  await eventually(`${apps.join(', ')} deleted`, () =>
    liveApps().some((app) => apps.includes(app.metadata.name)) ? undefined : true,
  );
}

describe('the ApplicationSet controller on the lab generates the service Applications', () => {
  const expected = expectedServiceApplications(catalogue, labEnv().LAB_GIT_URL!, repoRoot());

  test.each(catalogue.teamNames())(
    'ApplicationSet %s reports every Application generated, without error',
    async (team) => {
      await eventually(`${team} up to date`, () => {
        const appSet = liveAppSet(team);
        if (condition(appSet, 'ResourcesUpToDate')?.status !== 'True')
          throw new Error(JSON.stringify(appSet.status?.conditions));
        return condition(appSet, 'ErrorOccurred')?.status === 'False' ? true : undefined;
      });
    },
  );

  test('exactly the Applications the catalogue implies, each owned by its team ApplicationSet', () => {
    const generated = liveApps().filter((app) => appOwner(app) !== undefined);
    expect(generated.map((app) => `${appOwner(app)?.name}/${app.metadata.name}`).sort()).toEqual(
      expected.map((app) => `${app.spec.project as string}/${app.metadata.name}`).sort(),
    );
  });

  test.each(expected.map((app) => [app.metadata.name, app] as const))(
    '%s: name, labels, generate paths, finalizer and spec as the hand-written file had them',
    (name, app) => {
      const live = liveApps().find((candidate) => candidate.metadata.name === name);
      expect(live).toBeDefined();
      const { metadata, spec } = live!;
      expect({
        metadata: {
          name: metadata.name,
          namespace: metadata.namespace,
          labels: metadata.labels,
          annotations: { [GENERATE_PATHS]: metadata.annotations?.[GENERATE_PATHS] },
          finalizers: metadata.finalizers,
        },
        spec,
      }).toEqual(app);
    },
  );
});

describe('an ApplicationSet element cannot take an Application out of its team', () => {
  const escape = 'lab-escape-';
  afterAll(() => deleteVariant(`${escape}payments`, [`${escape}dev`]));

  test("an element naming another project and the other team's namespace still gets the team's project, and that project refuses the namespace", async () => {
    applyVariant(`${escape}payments`, 'payments', [
      {
        service: escape.slice(0, -1),
        environment: 'dev',
        project: 'billing',
        namespace: catalogue.namespace('billing', 'dev'),
        path: catalogue.overlayPath(
          catalogue.services.find((s) => s.team === 'billing')!.name,
          'dev',
        ),
        generatePaths: '/deploy/teams/billing',
        autoSync: false,
        prune: false,
      },
    ]);
    const app = await eventually(`${escape}dev generated`, () =>
      liveApps().find((candidate) => candidate.metadata.name === `${escape}dev`),
    );
    expect(app.spec.project).toBe('payments');
    const invalid = await eventually(`${escape}dev refused by its project`, () => {
      refresh(`${escape}dev`);
      return liveApps()
        .find((candidate) => candidate.metadata.name === `${escape}dev`)
        ?.status?.conditions?.find((c) => c.type === 'InvalidSpecError');
    });
    expect(invalid.message).toMatch(
      /do not match any of the allowed destinations in project 'payments'/,
    );
  });

  test('an element missing a value generates nothing (missingkey=error)', async () => {
    const name = `${escape}missing-key`;
    applyVariant(name, 'payments', [{ service: 'lab-missing', environment: 'dev' }]);
    try {
      const error = await eventually(`${name} reports an error`, () => {
        const found = condition(liveAppSet(name), 'ErrorOccurred');
        return found?.status === 'True' ? found : undefined;
      });
      expect(error.message).toMatch(/map has no entry for key/);
      expect(liveApps().map((app) => app.metadata.name)).not.toContain('lab-missing-dev');
    } finally {
      await deleteVariant(name, ['lab-missing-dev']);
    }
  });
});

describe('a commit that drops an element of an environment that never prunes', () => {
  // The release environment's (prod's) Applications carry no resources finalizer: dropping one
  // deletes the Application, while what it deployed keeps running for the release group to remove.
  const team = catalogue.teams[1]!.name;
  const service = catalogue.teams[1]!.services[0]!.name;
  const releaseEnv = catalogue.environments.find((env) => !env.prune)!.name;
  const dropped = `${service}-${releaseEnv}`;
  const namespace = catalogue.namespace(team, releaseEnv);
  const file = path.join(LAB_REPO, 'argocd', 'applicationsets', `${team}.yaml`);
  const elementCount = () => liveAppSet(team).spec.generators[0]!.list.elements.length;
  const deployed = () =>
    kubectl('-n', namespace, 'get', 'deployment', service, '-o', 'jsonpath={.metadata.name}');
  let before: number;
  let pushed = false;

  async function pushAndWait(message: string, count: number) {
    commitAndPush(message);
    await eventually(
      `ApplicationSet ${team} with ${count} elements`,
      () => {
        refresh('root');
        return elementCount() === count ? true : undefined;
      },
      180_000,
    );
  }

  test(`removing ${dropped}'s element deletes the Application and leaves its workloads running`, async () => {
    expect(deployed()).toBe(service);
    before = elementCount();
    const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'));
    const elements = doc.getIn(['spec', 'generators', 0, 'list', 'elements']) as YAML.YAMLSeq;
    const index = elements.items.findIndex(
      (item) =>
        `${(item as YAML.YAMLMap).get('service')}-${(item as YAML.YAMLMap).get('environment')}` ===
        dropped,
    );
    expect(index).toBeGreaterThanOrEqual(0);
    elements.delete(index);
    fs.writeFileSync(file, doc.toString());
    pushed = true;
    await pushAndWait(`lab: drop ${dropped} from the ${team} ApplicationSet`, before - 1);
    await eventually(`${dropped} deleted`, () =>
      liveApps().some((app) => app.metadata.name === dropped) ? undefined : true,
    );
    expect(deployed()).toBe(service);
  });

  afterAll(async () => {
    if (!pushed) return;
    revertAndPush('HEAD');
    await eventually(
      `ApplicationSet ${team} restored`,
      () => {
        refresh('root');
        return elementCount() === before ? true : undefined;
      },
      180_000,
    );
    // Until the controller recreates it, application() fails and eventually() polls again.
    await eventually(`${dropped} back and Synced`, () =>
      application(dropped).status?.sync?.status === 'Synced' ? true : undefined,
    );
    // The recreated Application has no sync behind it yet (its objects were there all along):
    // the release group syncs it by hand, as the other release-environment apps were synced.
    const sync = argocd(['app', 'sync', dropped, '--async']);
    if (sync.status !== 0) throw new Error(`argocd app sync ${dropped}: ${sync.stderr}`);
    await eventually(
      `${dropped} synced by hand`,
      () => (application(dropped).status?.operationState?.phase === 'Succeeded' ? true : undefined),
      180_000,
    );
  });
});
