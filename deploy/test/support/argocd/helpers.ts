import path from 'node:path';
import { repoRoot } from '@internal/test-kit';
import { loadArgoCdConfig, type ArgoCdConfig } from './objects';

export const argocdDir = path.join(repoRoot(), 'argocd');

/** A fresh copy of the configuration under argocd/, safe to mutate in a test. */
export function argoCdConfig(): ArgoCdConfig {
  return loadArgoCdConfig(argocdDir);
}
