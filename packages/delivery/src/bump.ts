import { DeliveryError, UsageError } from './errors';
import { imageReference, requireDigest, requireTag } from './image-reference';
import { readOverlayImage, writeOverlayImage } from './overlay-image';
import { git } from './processes';
import { pushSettings, pushWithRetry } from './push';
import type { Repository } from './repository';

export interface BumpRequest {
  service: string;
  env: string;
  tag: string;
  digest?: string;
  commit: boolean;
  push: boolean;
  ifNewer: boolean;
}

/** True when both tags name commits here and the overlay's is a strict descendant of the new one. */
function overlayIsNewer(root: string, overlayTag: string, tag: string): boolean {
  const isCommit = (ref: string) => git(root, 'cat-file', '-e', `${ref}^{commit}`).status === 0;
  return (
    overlayTag !== tag &&
    isCommit(overlayTag) &&
    isCommit(tag) &&
    git(root, 'merge-base', '--is-ancestor', tag, overlayTag).status === 0
  );
}

/**
 * Sets one service's image in one environment's overlay (its newTag and digest lines, nothing
 * else), optionally commits that file and pushes with rebase retries. Idempotent. Without a
 * digest the entry is pinned by tag only and any digest line is removed: that is for local
 * clusters whose images were never pushed; BUMP_REQUIRE_DIGEST=true (the release workflow)
 * makes a missing digest an error.
 */
export async function bump(
  repo: Repository,
  request: BumpRequest,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const service = repo.requireService(request.service);
  const environment = repo.requireEnvironment(request.env);
  const tag = requireTag(request.tag);
  const digest = request.digest === undefined ? '' : requireDigest(request.digest);
  if (request.digest === undefined && env.BUMP_REQUIRE_DIGEST === 'true')
    throw new UsageError("BUMP_REQUIRE_DIGEST=true: pass the pushed image's --digest sha256:<hex>");
  // Checked before anything is written, so a bad setting changes nothing.
  const push = request.push ? pushSettings(repo.root, env) : undefined;

  const file = repo.overlayFile(service, environment);
  const previous = readOverlayImage(repo.path(file), service);
  const previousImage = imageReference(previous.tag, previous.digest);
  if (request.ifNewer && overlayIsNewer(repo.root, previous.tag, tag)) {
    log(`${service} ${environment}: keeping ${previous.tag}, which is newer than ${tag}`);
    return;
  }
  const image = imageReference(tag, digest);
  if (writeOverlayImage(repo.path(file), service, { tag, digest }))
    log(`${service} ${environment}: ${previousImage} -> ${image} (${file})`);
  else log(`${service} ${environment}: already at ${image}`);

  if (request.commit || push) {
    if (git(repo.root, 'diff', '--quiet', 'HEAD', '--', file).status === 0) {
      log(`nothing to commit for ${file}`);
    } else {
      const subject = `deploy(${environment}): ${service} ${tag}`;
      const trailer = digest ? `\nImage-Digest: ${digest}` : '';
      const message = `${subject}\n\nPrevious image: ${previousImage}${trailer}`;
      const committed = git(repo.root, 'commit', '--quiet', '--message', message, '--', file);
      if (committed.status !== 0)
        throw new DeliveryError(`git commit of ${file} failed: ${committed.stderr.trim()}`);
      const head = git(repo.root, 'rev-parse', '--short', 'HEAD').stdout.trim();
      log(`committed ${head}: ${subject}`);
    }
  }
  if (push) await pushWithRetry(repo.root, push, log);
}
