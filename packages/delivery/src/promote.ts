import { DeliveryError, UsageError } from './errors';
import { imageReference, isValidDigest, isValidTag } from './image-reference';
import { readOverlayImage, writeOverlayImage } from './overlay-image';
import type { Repository } from './repository';

export interface Promotion {
  tag: string;
  digest: string;
  previous: string;
  previousDigest: string;
  /** The target overlay, relative to the repository root. */
  file: string;
}

/**
 * Copies the image a service runs in one environment to the next one: the newTag and digest of
 * its images entry, only those lines, so the next environment runs the very image that was
 * tested. A source pinned by tag only is refused (a tag can be pushed again; only the digest
 * says which image was tested) and the target is left untouched. Idempotent.
 */
export function promote(
  repo: Repository,
  serviceName: string,
  from: string,
  to: string,
  log: (line: string) => void,
): Promotion {
  const service = repo.requireService(serviceName);
  repo.requireEnvironment(from);
  repo.requireEnvironment(to);
  const expected = repo.catalogue.nextEnvironment(from);
  if (expected === undefined)
    throw new UsageError(`${from} is the last environment: nothing to promote to`);
  if (to !== expected)
    throw new UsageError(
      `promotion goes one environment at a time: ${from} promotes to ${expected}, not ${to}`,
    );

  const sourceFile = repo.overlayFile(service, from);
  const file = repo.overlayFile(service, to);
  const { tag, digest } = readOverlayImage(repo.path(sourceFile), service);
  if (!isValidTag(tag))
    throw new DeliveryError(
      `${sourceFile} holds '${tag}' for ${service}, which is not a deployable tag; bump ${from} first`,
    );
  if (!digest)
    throw new DeliveryError(
      `${sourceFile} pins ${service} in ${from} by tag only (${tag}, no digest): refusing to promote it to ${to}. ` +
        `Release it first (.github/workflows/release.yml), or bump ${from} with the pushed image's digest: ` +
        `delivery bump --digest sha256:<digest> ${service} ${from} ${tag}`,
    );
  if (!isValidDigest(digest))
    throw new DeliveryError(
      `${sourceFile} holds digest '${digest}' for ${service}, which is not sha256:<64 lowercase hex>`,
    );
  const previous = readOverlayImage(repo.path(file), service);
  const image = imageReference(tag, digest);
  if (writeOverlayImage(repo.path(file), service, { tag, digest }))
    log(
      `${service} ${to}: ${imageReference(previous.tag, previous.digest)} -> ${image} (from ${from}, ${file})`,
    );
  else log(`${service} ${to}: already at ${image}`);
  return { tag, digest, previous: previous.tag, previousDigest: previous.digest, file };
}

/** The promotion as the workflow reads it from GITHUB_OUTPUT. */
export const workflowOutputs = (promotion: Promotion): string =>
  [
    `tag=${promotion.tag}`,
    `digest=${promotion.digest}`,
    `previous=${promotion.previous}`,
    `previous_digest=${promotion.previousDigest}`,
    `file=${promotion.file}`,
  ].join('\n') + '\n';
