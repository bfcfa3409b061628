import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export type Metadata = {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
};

export type GroupKind = { group: string; kind: string };

export type ProjectRole = {
  name: string;
  description?: string;
  groups?: string[];
  policies?: string[];
};

export type AppProject = {
  apiVersion: string;
  kind: 'AppProject';
  metadata: Metadata;
  spec: {
    sourceRepos: string[];
    destinations: { server?: string; name?: string; namespace?: string }[];
    destinationServiceAccounts?: {
      server: string;
      namespace: string;
      defaultServiceAccount: string;
    }[];
    clusterResourceWhitelist?: GroupKind[];
    namespaceResourceWhitelist?: GroupKind[];
    namespaceResourceBlacklist?: GroupKind[];
    orphanedResources?: {
      warn?: boolean;
      ignore?: { group?: string; kind?: string; name?: string }[];
    };
    roles?: ProjectRole[];
    syncWindows?: {
      kind: string;
      schedule: string;
      duration: string;
      applications?: string[];
      namespaces?: string[];
      manualSync?: boolean;
      timeZone?: string;
    }[];
  };
};

export type Application = {
  apiVersion: string;
  kind: 'Application';
  metadata: Metadata;
  spec: {
    project: string;
    source: { repoURL: string; targetRevision: string; path: string };
    destination: { server?: string; name?: string; namespace?: string };
    syncPolicy?: {
      automated?: { enabled?: boolean; prune?: boolean; selfHeal?: boolean };
      syncOptions?: string[];
      retry?: {
        limit?: number;
        backoff?: { duration?: string; factor?: number; maxDuration?: string };
      };
    };
  };
};

export type ConfigMap = {
  apiVersion: string;
  kind: 'ConfigMap';
  metadata: Metadata;
  data?: Record<string, string>;
};

export type ArgoCdObject = AppProject | Application | ConfigMap;

/** Argo CD's configuration as the root Application renders it from argocd/. */
export type ArgoCdConfig = {
  objects: ArgoCdObject[];
  projects: AppProject[];
  applications: Application[];
  rbacConfigMap: ConfigMap;
};

/** Reads every resource listed in `<argocdDir>/kustomization.yaml`, in order. */
export function loadArgoCdObjects(argocdDir: string): ArgoCdObject[] {
  const kustomization = YAML.parse(
    fs.readFileSync(path.join(argocdDir, 'kustomization.yaml'), 'utf8'),
  ) as {
    resources?: string[];
  };
  return (kustomization.resources ?? []).flatMap((resource) =>
    YAML.parseAllDocuments(fs.readFileSync(path.join(argocdDir, resource), 'utf8'))
      .map((doc) => {
        if (doc.errors.length > 0)
          throw new Error(`${resource}: ${doc.errors.map((e) => e.message).join('; ')}`);
        return doc.toJS() as ArgoCdObject | null;
      })
      .filter((obj): obj is ArgoCdObject => obj !== null),
  );
}

export function indexArgoCdConfig(objects: ArgoCdObject[]): ArgoCdConfig {
  const rbacConfigMaps = objects.filter(
    (obj): obj is ConfigMap => obj.kind === 'ConfigMap' && obj.metadata.name === 'argocd-rbac-cm',
  );
  if (rbacConfigMaps.length !== 1) {
    throw new Error(
      `expected exactly one argocd-rbac-cm ConfigMap, found ${rbacConfigMaps.length}`,
    );
  }
  const [rbacConfigMap] = rbacConfigMaps as [ConfigMap];
  return {
    objects,
    projects: objects.filter((obj): obj is AppProject => obj.kind === 'AppProject'),
    applications: objects.filter((obj): obj is Application => obj.kind === 'Application'),
    rbacConfigMap,
  };
}

export function loadArgoCdConfig(argocdDir: string): ArgoCdConfig {
  return indexArgoCdConfig(loadArgoCdObjects(argocdDir));
}
