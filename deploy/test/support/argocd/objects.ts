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
    /** `name`: a glob (Go's filepath.Match) of the objects' names; none means every name. */
    clusterResourceWhitelist?: (GroupKind & { name?: string })[];
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
    revisionHistoryLimit?: number;
  };
};

/** One list element of a generated ApplicationSet (`delivery generate`). */
export type ServiceElement = {
  service: string;
  environment: string;
  namespace: string;
  path: string;
  generatePaths: string;
  autoSync: boolean;
  prune: boolean;
};

export type ApplicationSet = {
  apiVersion: string;
  kind: 'ApplicationSet';
  metadata: Metadata;
  spec: {
    goTemplate?: boolean;
    goTemplateOptions?: string[];
    syncPolicy?: { preserveResourcesOnDeletion?: boolean; applicationsSync?: string };
    generators: { list?: { elements: ServiceElement[] } }[];
    template: Omit<Application, 'apiVersion' | 'kind'>;
    templatePatch?: string;
  };
};

export type ConfigMap = {
  apiVersion: string;
  kind: 'ConfigMap';
  metadata: Metadata;
  data?: Record<string, string>;
};

export type ArgoCdObject = AppProject | Application | ApplicationSet | ConfigMap;

/** Argo CD's configuration as the root Application renders it from argocd/. */
export type ArgoCdConfig = {
  objects: ArgoCdObject[];
  projects: AppProject[];
  applications: Application[];
  applicationSets: ApplicationSet[];
  rbacConfigMap: ConfigMap;
};

/**
 * Reads every resource listed in `<argocdDir>/kustomization.yaml`, in order; a directory listed
 * there is read the same way through its own kustomization.yaml.
 */
export function loadArgoCdObjects(argocdDir: string): ArgoCdObject[] {
  const kustomization = YAML.parse(
    fs.readFileSync(path.join(argocdDir, 'kustomization.yaml'), 'utf8'),
  ) as {
    resources?: string[];
  };
  return (kustomization.resources ?? []).flatMap((resource) => {
    const file = path.join(argocdDir, resource);
    if (fs.statSync(file).isDirectory()) return loadArgoCdObjects(file);
    return YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))
      .map((doc) => {
        if (doc.errors.length > 0)
          throw new Error(`${resource}: ${doc.errors.map((e) => e.message).join('; ')}`);
        return doc.toJS() as ArgoCdObject | null;
      })
      .filter((obj): obj is ArgoCdObject => obj !== null);
  });
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
    applicationSets: objects.filter((obj): obj is ApplicationSet => obj.kind === 'ApplicationSet'),
    rbacConfigMap,
  };
}

export function loadArgoCdConfig(argocdDir: string): ArgoCdConfig {
  return indexArgoCdConfig(loadArgoCdObjects(argocdDir));
}
