import { applicationSets } from './applicationsets';
import { deployerRoles } from './deployer-roles';
import { dockerfiles } from './dockerfiles';
import { environments } from './environments';
import { writeGenerated, type Generated } from './generator';
import type { Repository } from './repository';

/**
 * The generators of `delivery generate`, in the order in which each reads what the ones before
 * it write: the environments' kustomizations include each team's deployer Role, and the
 * ApplicationSets follow those kustomizations into every directory they render.
 */
export const GENERATORS = {
  'deployer-roles': deployerRoles,
  environments,
  applicationsets: applicationSets,
  dockerfiles,
} satisfies Record<string, (repo: Repository) => Generated>;

export type GeneratorName = keyof typeof GENERATORS;

/** What a person runs to bring every generated file back in line. */
const GENERATE_COMMAND = 'npx delivery generate';

/**
 * Runs the generators (all of them, or the one named), each on what the ones before it wrote.
 * Returns the drift --check found, one line a file; writing, nothing.
 */
export function generate(
  repo: Repository,
  options: { check: boolean; only?: GeneratorName },
  log: (line: string) => void,
): string[] {
  // Read first: an invalid catalogue fails (exit 3) before any generator writes a file.
  void repo.catalogue;
  const names = options.only ? [options.only] : (Object.keys(GENERATORS) as GeneratorName[]);
  return names.flatMap((name) =>
    writeGenerated(repo.root, GENERATORS[name](repo), options.check, log),
  );
}

/** The drift --check found, then the command that repairs it. */
export const driftReport = (drift: string[]): string =>
  [...drift, `run: ${GENERATE_COMMAND}`].join('\n');
