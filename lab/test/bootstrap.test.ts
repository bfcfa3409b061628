import { catalogue, SERVICE_APPS } from './support/catalogue';
import { ARGOCD_URL, adminToken, applications, eventually, type Application } from './support/lab';

// Conditions Argo CD sets when it cannot use an app's spec or render its source, and the
// warning it sets for resources in a watched namespace that no app manages.
const BROKEN = ['InvalidSpecError', 'ComparisonError', 'OrphanedResourceWarning', 'SyncError'];

const isProd = (app: Application) => app.metadata.name.endsWith('-prod');

describe('the bootstrap from argocd/README.md on a real Argo CD', () => {
  test('creates the root app, the platform apps and every service app', () => {
    const names = applications()
      .map((app) => app.metadata.name)
      .sort();
    expect(names).toEqual(expect.arrayContaining(['root', ...SERVICE_APPS.map(({ app }) => app)]));
    expect(names.filter((name) => name.startsWith('platform'))).not.toEqual([]);
  });

  test('every non-prod Application is Synced', async () => {
    await eventually('every non-prod app Synced', () => {
      const notSynced = applications()
        .filter((app) => !isProd(app))
        .filter((app) => app.status?.sync?.status !== 'Synced')
        .map((app) => `${app.metadata.name}=${app.status?.sync?.status}`);
      if (notSynced.length > 0) throw new Error(notSynced.join(', '));
      return true;
    });
  });

  test('no Application reports a spec, comparison, sync or orphaned-resource condition', async () => {
    await eventually(
      'no broken conditions',
      () => {
        const problems = applications().flatMap((app) =>
          (app.status?.conditions ?? [])
            .filter((condition) => BROKEN.includes(condition.type))
            .map((condition) => `${app.metadata.name}: ${condition.type}: ${condition.message}`),
        );
        if (problems.length > 0) throw new Error(problems.join('\n'));
        return true;
      },
      60_000,
    );
  });

  // Which apps a project's window covers is Argo CD's own answer, from its API.
  test.each([
    ...SERVICE_APPS.map(({ app, env }) => [
      app,
      catalogue.environment(env).syncWindow !== undefined,
    ]),
    ['platform-prod', true],
    ['platform-staging', false],
  ] as [string, boolean][])(
    '%s: working-hours sync window assigned: %p, manual sync always allowed',
    async (name, windowed) => {
      const response = await fetch(`${ARGOCD_URL}/api/v1/applications/${name}/syncwindows`, {
        headers: { Authorization: `Bearer ${adminToken()}` },
      });
      expect(response.status).toBe(200);
      const windows = (await response.json()) as {
        assignedWindows?: { schedule: string; manualSync: boolean }[];
        canSync: boolean;
      };
      expect(windows.assignedWindows ?? []).toEqual(
        windowed ? [expect.objectContaining({ schedule: '0 8 * * 1-5', manualSync: true })] : [],
      );
      expect(windows.canSync).toBe(true);
    },
  );
});
