import path from 'node:path';
import { loadArgoCdConfig, type ArgoCdConfig } from '../src/objects';

export const argocdDir = path.resolve(__dirname, '..');

/** A fresh copy of the configuration under argocd/, safe to mutate in a test. */
export function argoCdConfig(): ArgoCdConfig {
  return loadArgoCdConfig(argocdDir);
}
