export { adoptFork, invalidRepository } from './adopt-fork';
export { affectedServices } from './affected';
export { bump } from './bump';
export { deliveryProgram, main } from './cli';
export { DOCKERFILE_TEMPLATE, dockerfilePath, renderDockerfile } from './dockerfiles';
export { VIEW_ONLY_KINDS } from './deployer-roles';
export { DeliveryError, UsageError } from './errors';
export { isValidDigest, isValidTag } from './image-reference';
export { readOverlayImage, writeOverlayImage } from './overlay-image';
export { promote } from './promote';
export { Repository } from './repository';
export {
  DEFAULT_PORT,
  addCodeowners,
  addToCatalogue,
  deployDir,
  imageName,
  newServiceProblems,
  removeCodeowners,
  removeFromCatalogue,
  serviceDir,
} from './service-registration';
// The directories a kustomization renders: the ApplicationSets' manifest-generate-paths, which
// the deploy tests check with the same code.
export { renderedDirectories } from '@internal/catalogue';
