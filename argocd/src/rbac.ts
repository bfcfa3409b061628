import { newEnforcer, newModelFromString, type Enforcer } from 'casbin';
import YAML from 'yaml';
import { globMatch } from './glob';
import type { AppProject, ArgoCdConfig } from './objects';
import {
  PROJECT_SCOPED_RESOURCES,
  builtinPolicy,
  mergePolicies,
  parsePolicyCsv,
  projectPolicy,
  type Policy,
} from './policy';

// Argo CD's RBAC model: a request is allowed when some rule allows it and no rule denies it, and
// resource, action and object are glob patterns.
const ARGOCD_MODEL = `
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && argoGlob(r.res, p.res) && argoGlob(r.act, p.act) && argoGlob(r.obj, p.obj)
`;

/** The signed-in user as Argo CD sees the SSO token: its subject and its claims. */
export type User = { sub: string; claims?: Record<string, string[]> };

export type Request = { resource: string; action: string; object: string };

async function enforcerFor(policy: Policy): Promise<Enforcer> {
  const enforcer = await newEnforcer(newModelFromString(ARGOCD_MODEL));
  await enforcer.addFunction('argoGlob', (value: string, pattern: string) =>
    globMatch(value, pattern),
  );
  for (const rule of policy.rules) {
    await enforcer.addPolicy(rule.subject, rule.resource, rule.action, rule.object, rule.effect);
  }
  for (const grouping of policy.groupings)
    await enforcer.addGroupingPolicy(grouping.member, grouping.role);
  return enforcer;
}

function parseScopes(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return ['groups'];
  const scopes = YAML.parse(value) as unknown;
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string')) {
    throw new Error(`argocd-rbac-cm scopes must be a list of claim names, got "${value}"`);
  }
  return scopes as string[];
}

/**
 * Decides requests the way the Argo CD API server does: the global policy (built-in roles plus
 * argocd-rbac-cm policy.csv), extended for project-scoped requests by the policy of the project the
 * object names; the default role, the subject and then each scoped claim value are tried in turn,
 * each on its own.
 */
export class ArgoCdRbac {
  private readonly enforcers = new Map<string, Promise<Enforcer>>();

  private constructor(
    private readonly globalPolicy: Policy,
    private readonly projects: Map<string, AppProject>,
    private readonly defaultRole: string,
    private readonly scopes: string[],
  ) {}

  static fromConfig(config: ArgoCdConfig): ArgoCdRbac {
    const data = config.rbacConfigMap.data ?? {};
    if ((data['policy.matchMode'] ?? 'glob') !== 'glob') {
      throw new Error(
        `argocd-rbac-cm policy.matchMode "${data['policy.matchMode']}" is not modelled; use glob`,
      );
    }
    const globalPolicy = mergePolicies(
      builtinPolicy(),
      parsePolicyCsv(data['policy.csv'] ?? '', 'argocd-rbac-cm policy.csv'),
    );
    const projects = new Map(config.projects.map((project) => [project.metadata.name, project]));
    return new ArgoCdRbac(
      globalPolicy,
      projects,
      data['policy.default'] ?? '',
      parseScopes(data.scopes),
    );
  }

  async can(user: User, { resource, action, object }: Request): Promise<boolean> {
    const enforcer = await this.enforcerForProject(this.projectOf(resource, object));
    const subjects = [
      ...(this.defaultRole === '' ? [] : [this.defaultRole]),
      user.sub,
      ...this.scopes.flatMap((scope) => user.claims?.[scope] ?? []),
    ];
    for (const subject of subjects) {
      if (await enforcer.enforce(subject, resource, action, object)) return true;
    }
    return false;
  }

  private projectOf(resource: string, object: string): AppProject | undefined {
    if (resource === 'projects') return this.projects.get(object);
    if (PROJECT_SCOPED_RESOURCES.has(resource) && object.includes('/')) {
      return this.projects.get(object.slice(0, object.indexOf('/')));
    }
    return undefined;
  }

  private enforcerForProject(project: AppProject | undefined): Promise<Enforcer> {
    const key = project?.metadata.name ?? '';
    let enforcer = this.enforcers.get(key);
    if (enforcer === undefined) {
      enforcer = enforcerFor(
        project === undefined
          ? this.globalPolicy
          : mergePolicies(this.globalPolicy, projectPolicy(project)),
      );
      this.enforcers.set(key, enforcer);
    }
    return enforcer;
  }
}
