import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@internal/test-kit';

// docs/platform-versions.md is the readable list of what the repository pins; the pins
// themselves live in scripts/tools.versions (and .nvmrc, the Redis manifest). This keeps the
// table from drifting: same versions, and no pin missing from it.

const root = repoRoot();
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

/** KEY=VALUE lines of scripts/tools.versions; *_MODULE keys name modules, not versions. */
const pins = Object.fromEntries(
  read('scripts/tools.versions')
    .split('\n')
    .filter((line) => /^[A-Z_0-9]+=/.test(line) && !/^[A-Z_0-9]+_MODULE=/.test(line))
    .map((line) => line.split('=', 2) as [string, string]),
);

type Row = { component: string; version: string; pinnedIn: string };

/** The rows of the table: version and `Pinned in` are single backticked values. */
function tableRows(markdown: string): Row[] {
  return [...markdown.matchAll(/^\| ([^|]+) \| `([^`]+)` \| `([^`]+)` \| [^|]+\|$/gm)].map((m) => ({
    component: (m[1] as string).trim(),
    version: m[2] as string,
    pinnedIn: m[3] as string,
  }));
}

const rows = tableRows(read('docs/platform-versions.md'));
const rowsPinnedIn = (where: string) => rows.filter((row) => row.pinnedIn === where);

describe('docs/platform-versions.md matches the pins', () => {
  it('reads the table rows the way the document writes them', () => {
    const sample =
      '| etcd (lab) | `v3.6.16` | `LAB_ETCD_VERSION` | rebuild |\n| --- | --- | --- | --- |';
    expect(tableRows(sample)).toEqual([
      { component: 'etcd (lab)', version: 'v3.6.16', pinnedIn: 'LAB_ETCD_VERSION' },
    ]);
    expect(rows.length).toBeGreaterThan(20);
  });

  it.each(Object.entries(pins))('%s is in exactly one row, with its version %s', (key, value) => {
    const matching = rowsPinnedIn(key);
    expect(matching).toHaveLength(1);
    expect(matching[0]?.version).toBe(value);
  });

  it('names no tools.versions key that does not exist', () => {
    const keys = rows.map((row) => row.pinnedIn).filter((where) => /^[A-Z][A-Z_0-9]+$/.test(where));
    expect(keys.filter((key) => !(key in pins))).toEqual([]);
  });

  it('the Node row is .nvmrc', () => {
    expect(rowsPinnedIn('.nvmrc').map((row) => row.version)).toEqual([read('.nvmrc').trim()]);
  });

  it('the Redis row is the image payment runs', () => {
    const file = 'deploy/teams/payments/payment/base/redis.yaml';
    const tag = /image: docker\.io\/library\/redis:([^@\s]+)/.exec(read(file))?.[1];
    expect(rowsPinnedIn(file).map((row) => row.version)).toEqual([tag]);
  });

  it('Argo CD install instructions name the pinned release', () => {
    const url = `https://raw.githubusercontent.com/argoproj/argo-cd/${pins.ARGO_CD_VERSION}/manifests/install.yaml`;
    for (const file of ['argocd/README.md', 'README.md']) {
      const urls = read(file).match(
        /https:\/\/raw\.githubusercontent\.com\/argoproj\/argo-cd\/\S+/g,
      );
      expect({ file, urls }).toEqual({ file, urls: [url] });
    }
  });

  it('README.md links the table', () => {
    expect(read('README.md')).toContain('](docs/platform-versions.md)');
  });
});
