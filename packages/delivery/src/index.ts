export { adoptFork, invalidRepository } from './adopt-fork';
export { affectedServices } from './affected';
export { bump } from './bump';
export { deliveryProgram, main } from './cli';
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
