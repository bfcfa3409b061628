import type { ApplicationSet, ServiceElement } from './objects';

/** The list elements of an ApplicationSet (its list generators, in order). */
export const elementsOf = (appSet: ApplicationSet): ServiceElement[] =>
  appSet.spec.generators.flatMap((generator) => generator.list?.elements ?? []);
