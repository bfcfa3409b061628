import type { K8sObject } from '@internal/test-kit';

type Dict = Record<string, unknown>;

export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
}

export interface PodSpec {
  containers?: ContainerSpec[];
  initContainers?: ContainerSpec[];
  volumes?: Array<Dict & { name: string }>;
}

// Where each workload kind keeps its pod template.
const podSpecPaths: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** The pod specs inside the workload objects among `objects`, named `Kind/namespace/name`. */
export function podSpecsOf(objects: K8sObject[]): Array<{ owner: string; pod: PodSpec }> {
  return objects.flatMap((obj) => {
    const specPath = podSpecPaths[obj.kind];
    if (!specPath) return [];
    const pod = specPath.reduce<unknown>((node, key) => (node as Dict | undefined)?.[key], obj);
    const owner = `${obj.kind}/${obj.metadata.namespace ?? '(no namespace)'}/${obj.metadata.name}`;
    return [{ owner, pod: (pod ?? {}) as PodSpec }];
  });
}
