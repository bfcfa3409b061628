import type { K8sObject } from '@internal/test-kit';

/**
 * The Kubernetes Pod Security Standards "restricted" profile (policy version v1.33), checked
 * over YAML. Admission would enforce the same rules in a cluster; here there is none, so the
 * rendered manifests are held to it before they ever reach one.
 */

type Dict = Record<string, unknown>;

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  appArmorProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  windowsOptions?: { hostProcess?: boolean };
  sysctls?: Array<{ name: string }>;
}

interface Container {
  name: string;
  securityContext?: SecurityContext;
  ports?: Array<{ hostPort?: number }>;
}

export interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  volumes?: Array<Dict & { name: string }>;
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
}

const allowedVolumeTypes = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
const allowedSeLinuxTypes = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const safeSysctls = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const allowedSeccompTypes = new Set(['RuntimeDefault', 'Localhost']);

function checkContainer(pod: PodSpec, c: Container, where: string): string[] {
  const sc = c.securityContext ?? {};
  const podSc = pod.securityContext ?? {};
  const found: string[] = [];
  if (sc.privileged === true) found.push(`${where}: privileged`);
  if (sc.allowPrivilegeEscalation !== false) {
    found.push(`${where}: securityContext.allowPrivilegeEscalation must be false`);
  }
  if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) {
    found.push(`${where}: runAsNonRoot must be true (container or pod securityContext)`);
  }
  if (sc.runAsUser === 0) found.push(`${where}: runAsUser is 0 (root)`);
  const drop = sc.capabilities?.drop ?? [];
  if (!drop.includes('ALL')) found.push(`${where}: capabilities.drop must include ALL`);
  for (const cap of sc.capabilities?.add ?? []) {
    if (cap !== 'NET_BIND_SERVICE') found.push(`${where}: capability ${cap} added`);
  }
  const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
  if (!seccomp || !allowedSeccompTypes.has(seccomp)) {
    found.push(
      `${where}: seccompProfile.type must be RuntimeDefault or Localhost (got ${seccomp ?? 'unset'})`,
    );
  }
  if (sc.procMount !== undefined && sc.procMount !== 'Default') {
    found.push(`${where}: procMount ${sc.procMount}`);
  }
  const appArmor = sc.appArmorProfile?.type;
  if (appArmor === 'Unconfined') found.push(`${where}: appArmorProfile Unconfined`);
  found.push(...checkSeLinux(sc.seLinuxOptions, where));
  if (sc.windowsOptions?.hostProcess === true) found.push(`${where}: windows hostProcess`);
  for (const port of c.ports ?? []) {
    if (port.hostPort) found.push(`${where}: hostPort ${port.hostPort}`);
  }
  return found;
}

function checkSeLinux(options: SecurityContext['seLinuxOptions'], where: string): string[] {
  if (!options) return [];
  const found: string[] = [];
  if (!allowedSeLinuxTypes.has(options.type ?? '')) {
    found.push(`${where}: seLinuxOptions.type ${options.type}`);
  }
  if (options.user) found.push(`${where}: seLinuxOptions.user set`);
  if (options.role) found.push(`${where}: seLinuxOptions.role set`);
  return found;
}

/** Every way `pod` breaks the restricted profile, each naming the field; empty when compliant. */
export function restrictedViolations(pod: PodSpec, owner: string): string[] {
  const found: string[] = [];
  if (pod.hostNetwork) found.push(`${owner}: hostNetwork`);
  if (pod.hostPID) found.push(`${owner}: hostPID`);
  if (pod.hostIPC) found.push(`${owner}: hostIPC`);
  for (const volume of pod.volumes ?? []) {
    const types = Object.keys(volume).filter((k) => k !== 'name');
    for (const type of types) {
      if (!allowedVolumeTypes.has(type)) {
        found.push(`${owner}: volume ${volume.name} has disallowed type ${type}`);
      }
    }
  }
  const podSc = pod.securityContext ?? {};
  if (podSc.runAsUser === 0) found.push(`${owner}: pod runAsUser is 0 (root)`);
  if (podSc.seccompProfile?.type === 'Unconfined') found.push(`${owner}: pod seccomp Unconfined`);
  found.push(...checkSeLinux(podSc.seLinuxOptions, `${owner} pod`));
  for (const sysctl of podSc.sysctls ?? []) {
    if (!safeSysctls.has(sysctl.name)) found.push(`${owner}: unsafe sysctl ${sysctl.name}`);
  }
  const containers = [
    ...(pod.containers ?? []),
    ...(pod.initContainers ?? []),
    ...(pod.ephemeralContainers ?? []),
  ];
  if (containers.length === 0) found.push(`${owner}: pod has no containers`);
  for (const c of containers) found.push(...checkContainer(pod, c, `${owner} container ${c.name}`));
  return found;
}

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
