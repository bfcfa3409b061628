import type { AppProject } from './objects';

/** One `p` line: `subject` may (or, with `deny`, may not) do `action` on `resource` `object`. */
export type PolicyRule = {
  subject: string;
  resource: string;
  action: string;
  object: string;
  effect: 'allow' | 'deny';
  source: string;
};

/** One `g` line: `member` (a user, SSO group or role) has every permission of `role`. */
export type Grouping = { member: string; role: string; source: string };

export type Policy = { rules: PolicyRule[]; groupings: Grouping[] };

/**
 * Resources whose objects may be `<project>/<name>`: Argo CD evaluates those together with the
 * policies of the project named in the object.
 */
export const PROJECT_SCOPED_RESOURCES = new Set([
  'applications',
  'applicationsets',
  'logs',
  'exec',
  'clusters',
  'repositories',
]);

/** Splits one CSV line the way Argo CD's policy loader does (quotes allowed, leading spaces trimmed). */
function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (char === ',') {
      fields.push(field.trim());
      field = '';
    } else {
      field += char;
    }
  }
  if (quoted) throw new Error('unterminated quote');
  fields.push(field.trim());
  return fields;
}

/** Parses policy CSV text; `source` names where it came from in every error and every rule. */
export function parsePolicyCsv(text: string, source: string): Policy {
  const policy: Policy = { rules: [], groupings: [] };
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source}:${index + 1}`;
    let fields: string[];
    try {
      fields = splitCsvLine(line);
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message} in "${line}"`);
    }
    const [kind, subject = '', resource = '', action = '', object = '', effect = ''] = fields;
    if (kind === 'p') {
      if (fields.length !== 6 || fields.slice(1).some((field) => field === '')) {
        throw new Error(
          `${where}: a p line needs subject, resource, action, object and effect: "${line}"`,
        );
      }
      if (effect !== 'allow' && effect !== 'deny') {
        throw new Error(`${where}: effect must be allow or deny, not "${effect}"`);
      }
      policy.rules.push({ subject, resource, action, object, effect, source: where });
    } else if (kind === 'g') {
      const [member, role] = [subject, resource];
      if (fields.length !== 3 || member === '' || role === '') {
        throw new Error(`${where}: a g line needs a member and a role: "${line}"`);
      }
      policy.groupings.push({ member, role, source: where });
    } else {
      throw new Error(`${where}: a policy line starts with p or g, not "${kind}"`);
    }
  });
  return policy;
}

/**
 * The policy Argo CD derives from a project's roles: each role becomes the subject
 * `proj:<project>:<role>`, may always get its own project, and each of its groups is bound to it.
 */
export function projectPolicy(project: AppProject): Policy {
  const name = project.metadata.name;
  const policy: Policy = { rules: [], groupings: [] };
  for (const role of project.spec.roles ?? []) {
    const subject = `proj:${name}:${role.name}`;
    const source = `AppProject ${name} role ${role.name}`;
    policy.rules.push({
      subject,
      resource: 'projects',
      action: 'get',
      object: name,
      effect: 'allow',
      source,
    });
    const parsed = parsePolicyCsv((role.policies ?? []).join('\n'), source);
    policy.rules.push(...parsed.rules);
    policy.groupings.push(...parsed.groupings);
    for (const group of role.groups ?? [])
      policy.groupings.push({ member: group, role: subject, source });
  }
  return policy;
}

export function mergePolicies(...policies: Policy[]): Policy {
  return {
    rules: policies.flatMap((policy) => policy.rules),
    groupings: policies.flatMap((policy) => policy.groupings),
  };
}

type BuiltinGrant = [role: string, resource: string, actions: string[], object: string];

// Argo CD's built-in roles, restated: readonly reads everything, admin may also change everything.
const BUILTIN_GRANTS: BuiltinGrant[] = [
  ['role:readonly', 'applications', ['get'], '*/*'],
  ['role:readonly', 'applicationsets', ['get'], '*/*'],
  ['role:readonly', 'logs', ['get'], '*/*'],
  ['role:readonly', 'certificates', ['get'], '*'],
  ['role:readonly', 'clusters', ['get'], '*'],
  ['role:readonly', 'repositories', ['get'], '*'],
  ['role:readonly', 'write-repositories', ['get'], '*'],
  ['role:readonly', 'projects', ['get'], '*'],
  ['role:readonly', 'accounts', ['get'], '*'],
  ['role:readonly', 'gpgkeys', ['get'], '*'],
  [
    'role:admin',
    'applications',
    [
      'create',
      'update',
      'update/*',
      'delete',
      'delete/*',
      'sync',
      'rollback',
      'override',
      'action/*',
    ],
    '*/*',
  ],
  ['role:admin', 'applicationsets', ['get', 'create', 'update', 'delete'], '*/*'],
  ['role:admin', 'certificates', ['create', 'update', 'delete'], '*'],
  ['role:admin', 'clusters', ['create', 'update', 'delete'], '*'],
  ['role:admin', 'repositories', ['create', 'update', 'delete'], '*'],
  ['role:admin', 'write-repositories', ['create', 'update', 'delete'], '*'],
  ['role:admin', 'projects', ['create', 'update', 'delete'], '*'],
  ['role:admin', 'accounts', ['update'], '*'],
  ['role:admin', 'gpgkeys', ['create', 'delete'], '*'],
  ['role:admin', 'exec', ['create'], '*/*'],
];

export function builtinPolicy(): Policy {
  const source = 'Argo CD built-in policy';
  return {
    rules: BUILTIN_GRANTS.flatMap(([subject, resource, actions, object]) =>
      actions.map((action) => ({
        subject,
        resource,
        action,
        object,
        effect: 'allow' as const,
        source,
      })),
    ),
    groupings: [
      { member: 'role:admin', role: 'role:readonly', source },
      { member: 'admin', role: 'role:admin', source },
    ],
  };
}
