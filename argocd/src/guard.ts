import { globMatch } from './glob';
import type { ArgoCdConfig, AppProject } from './objects';
import {
  PROJECT_SCOPED_RESOURCES,
  builtinPolicy,
  mergePolicies,
  parsePolicyCsv,
  projectPolicy,
  type Policy,
  type PolicyRule,
} from './policy';

const ROLE_ACTIONS = new Set(['get', 'create', 'update', 'delete', 'sync', 'override', '*']);
const ROLE_NAME = /^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$/;

/** The checks Argo CD itself applies to a project role's policy lines, with its error wording. */
function invalidRolePolicies(project: AppProject): string[] {
  const name = project.metadata.name;
  const problems: string[] = [];
  for (const role of project.spec.roles ?? []) {
    if (!ROLE_NAME.test(role.name))
      problems.push(`AppProject ${name}: invalid role name "${role.name}"`);
    const subject = `proj:${name}:${role.name}`;
    for (const line of role.policies ?? []) {
      const fields = line.split(',').map((field) => field.trim());
      const [kind, sub, resource = '', action = '', object = '', effect] = fields;
      const reason =
        fields.length !== 6 || kind !== 'p'
          ? "must be of the form 'p, sub, res, act, obj, eft'"
          : sub !== subject
            ? `policy subject must be '${subject}', not '${sub}'`
            : !PROJECT_SCOPED_RESOURCES.has(resource)
              ? `project resource must be one of ${[...PROJECT_SCOPED_RESOURCES].join(', ')}, not '${resource}'`
              : !ROLE_ACTIONS.has(action) && !action.startsWith('action/')
                ? `invalid action '${action}'`
                : !new RegExp(`^${name}/[*\\w\\-.]+$`).test(object)
                  ? `object must be of form '${name}/*' or '${name}/<APPNAME>', not '${object}'`
                  : effect !== 'allow' && effect !== 'deny'
                    ? "effect must be 'allow' or 'deny'"
                    : undefined;
      if (reason !== undefined)
        problems.push(`AppProject ${name} role ${role.name}: "${line}": ${reason}`);
    }
  }
  return problems;
}

/** Every subject a member reaches through `g` lines, the member included. */
function reachableSubjects(policy: Policy, member: string): Set<string> {
  const reached = new Set([member]);
  const pending = [member];
  while (pending.length > 0) {
    const current = pending.pop() as string;
    for (const grouping of policy.groupings) {
      if (grouping.member === current && !reached.has(grouping.role)) {
        reached.add(grouping.role);
        pending.push(grouping.role);
      }
    }
  }
  return reached;
}

function describe(rule: PolicyRule): string {
  return `"p, ${rule.subject}, ${rule.resource}, ${rule.action}, ${rule.object}, ${rule.effect}" (${rule.source})`;
}

/** Why an allow rule reaching a group of `home` grants more than that project's own apps, if it does. */
function overreach(rule: PolicyRule, home: string): string | undefined {
  if (rule.resource === 'projects') {
    return rule.action === 'get' && rule.object === home
      ? undefined
      : `touches projects beyond reading ${home}`;
  }
  if (!PROJECT_SCOPED_RESOURCES.has(rule.resource))
    return `touches ${rule.resource}, which only platform admins may`;
  return rule.object.startsWith(`${home}/`) ? undefined : `reaches objects outside project ${home}`;
}

const READ_ACTIONS = new Set(['get']);

/**
 * Finds grants wider than the team model allows: a team's SSO groups reach nothing outside their
 * own project (whether granted by argocd-rbac-cm or by any project's roles), a developer role
 * changes no prod Application, nobody gets a default role, and every project role policy passes
 * Argo CD's own validation. Returns one message per problem; the real configuration yields none.
 */
export function findOverreachingGrants(config: ArgoCdConfig): string[] {
  const data = config.rbacConfigMap.data ?? {};
  const problems: string[] = [];
  if ((data['policy.default'] ?? '') !== '') {
    problems.push(
      `argocd-rbac-cm policy.default "${data['policy.default']}" grants every signed-in user a role`,
    );
  }
  for (const project of config.projects) problems.push(...invalidRolePolicies(project));

  const policy = mergePolicies(
    builtinPolicy(),
    parsePolicyCsv(data['policy.csv'] ?? '', 'argocd-rbac-cm policy.csv'),
    ...config.projects.map(projectPolicy),
  );
  for (const project of config.projects) {
    const home = project.metadata.name;
    const prodApps = config.applications.filter(
      (app) =>
        app.spec.project === home && (app.spec.destination.namespace ?? '').endsWith('-prod'),
    );
    for (const role of project.spec.roles ?? []) {
      for (const group of role.groups ?? []) {
        const subjects = reachableSubjects(policy, group);
        for (const builtin of ['role:admin', 'role:readonly']) {
          if (subjects.has(builtin))
            problems.push(`group ${group} (project ${home}) is bound to ${builtin}`);
        }
        for (const rule of policy.rules) {
          if (rule.effect !== 'allow' || !subjects.has(rule.subject)) continue;
          const reason = overreach(rule, home);
          if (reason !== undefined)
            problems.push(`group ${group} (project ${home}): ${describe(rule)} ${reason}`);
          if (role.name !== 'developer' || READ_ACTIONS.has(rule.action)) continue;
          for (const app of prodApps) {
            if (globMatch(`${home}/${app.metadata.name}`, rule.object)) {
              problems.push(
                `developer group ${group}: ${describe(rule)} lets it ${rule.action} prod app ${app.metadata.name}`,
              );
            }
          }
        }
      }
    }
  }
  return problems;
}
