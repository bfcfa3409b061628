import { UsageError } from './errors';

// Tags are immutable references only: a git commit SHA (7 to 40 lowercase hex digits, what the
// release workflow pushes) or a semantic version such as 1.4.2, v1.4.2 or 1.5.0-rc.1. Moving
// names like "latest" are refused because a GitOps diff must say exactly what runs.
const COMMIT_TAG = /^[0-9a-f]{7,40}$/;
const VERSION_TAG = /^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z][0-9A-Za-z.-]*)?$/;
// An image digest as registries report it (docker/build-push-action's `digest` output).
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export const isValidTag = (tag: string): boolean => COMMIT_TAG.test(tag) || VERSION_TAG.test(tag);

export const isValidDigest = (digest: string): boolean => DIGEST.test(digest);

export function requireTag(tag: string): string {
  if (!isValidTag(tag))
    throw new UsageError(
      `invalid image tag '${tag}': use a git commit SHA (7-40 lowercase hex) or a version like 1.2.3 / v1.2.3-rc.1`,
    );
  return tag;
}

export function requireDigest(digest: string): string {
  if (!isValidDigest(digest))
    throw new UsageError(
      `invalid digest '${digest}': expected sha256:<64 lowercase hex>, as the registry reports it`,
    );
  return digest;
}

/** `<tag>` or `<tag>@<digest>`, as an overlay pins an image, for messages. */
export const imageReference = (tag: string, digest: string): string =>
  digest ? `${tag}@${digest}` : tag;
