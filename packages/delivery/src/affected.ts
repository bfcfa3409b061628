import fs from 'node:fs';
import path from 'node:path';
import { DeliveryError } from './errors';
import { capture, git } from './processes';

const isCommit = (root: string, ref: string) =>
  git(root, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`).status === 0;

/** The workspaces under services/ that build an image (have a Dockerfile). */
function servicesWithImages(root: string): string[] {
  const dir = path.join(root, 'services');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter(
      (entry) => entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, 'Dockerfile')),
    )
    .map((entry) => entry.name);
}

function turboAffectedPaths(root: string, base: string, head: string): string[] {
  const turbo = path.join(root, 'node_modules', '.bin', 'turbo');
  if (!fs.existsSync(turbo)) throw new DeliveryError('turbo is not installed: run npm ci first');
  const listed = capture(turbo, ['ls', '--affected', '--output=json'], {
    cwd: root,
    env: {
      ...process.env,
      TURBO_TELEMETRY_DISABLED: '1',
      TURBO_SCM_BASE: base,
      TURBO_SCM_HEAD: head,
    },
  });
  if (listed.status !== 0)
    throw new DeliveryError(`turbo ls --affected failed: ${listed.stderr.trim()}`);
  const report = JSON.parse(listed.stdout) as { packages: { items: { path: string }[] } };
  return report.packages.items.map((item) => item.path);
}

/**
 * The services whose container image must be rebuilt for the commits base..head: those
 * Turborepo reports as affected (their own files, a workspace package they build from, or a
 * root file every package depends on), plus all of them when .dockerignore changed. Changes
 * only under deploy/ select none. Without a usable base (first push, force push) every service
 * is selected. Sorted, each once.
 */
export function affectedServices(
  root: string,
  base: string,
  head: string,
  warn: (line: string) => void,
): string[] {
  if (!isCommit(root, head)) throw new DeliveryError(`head '${head}' is not a commit here`);
  const withImages = servicesWithImages(root);
  let selected: string[];
  if (/^0+$/.test(base) || !isCommit(root, base)) {
    warn(`base '${base}' is not a known commit: selecting every service`);
    selected = withImages;
  } else if (
    git(root, 'diff', '--name-only', base, head).stdout.split('\n').includes('.dockerignore')
  ) {
    selected = withImages;
  } else {
    selected = turboAffectedPaths(root, base, head)
      .map((workspace) => workspace.split(path.sep).join('/'))
      .filter((workspace) => /^services\/[^/]+$/.test(workspace))
      .map((workspace) => workspace.slice('services/'.length))
      .filter((name) => withImages.includes(name));
  }
  return [...new Set(selected)].sort();
}
