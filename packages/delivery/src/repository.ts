import path from 'node:path';
import { CatalogueError, findRoot, readCatalogue, type Catalogue } from '@internal/catalogue';
import { DeliveryError, UsageError } from './errors';

/**
 * The checkout the tool works on and its catalogue, read and validated once on first use: the
 * checkout holding the current directory (a clone the tool is run in, such as the lab's), else
 * the one the tool belongs to.
 */
export class Repository {
  private loaded: Catalogue | undefined;

  constructor(readonly root: string) {}

  static containing(dir = process.cwd()): Repository {
    for (const start of [dir, __dirname]) {
      try {
        return new Repository(findRoot(start));
      } catch {
        // Not inside a checkout: try the next place.
      }
    }
    throw new DeliveryError(`no catalogue.yaml at or above ${dir} or ${__dirname}`);
  }

  /** A path inside the checkout. */
  path(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  /** The validated catalogue; an invalid one fails every command with exit code 3. */
  get catalogue(): Catalogue {
    if (!this.loaded) {
      try {
        this.loaded = readCatalogue(this.root);
      } catch (error) {
        if (!(error instanceof CatalogueError)) throw error;
        throw new DeliveryError(error.message, 3);
      }
    }
    return this.loaded;
  }

  requireService(name: string): string {
    return requireKnown(name, this.catalogue.serviceNames(), 'service');
  }

  requireEnvironment(name: string): string {
    return requireKnown(name, this.catalogue.environmentNames(), 'environment');
  }

  requireTeam(name: string): string {
    return requireKnown(name, this.catalogue.teamNames(), 'team');
  }

  /** The overlay kustomization of a service in an environment, relative to the root. */
  overlayFile(service: string, env: string): string {
    return path.posix.join(this.catalogue.overlayPath(service, env), 'kustomization.yaml');
  }
}

function requireKnown(value: string, known: string[], what: string): string {
  if (!known.includes(value))
    throw new UsageError(`unknown ${what} '${value}' (known: ${known.join(' ')})`);
  return value;
}
