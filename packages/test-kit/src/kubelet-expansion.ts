/**
 * Kubernetes' substitution of `$(VAR)` in a container's command, args and env values: a
 * reference to a variable in `env` becomes its value, one to an unknown variable stays as it is,
 * and `$$` is an escaped `$` (k8s.io/kubernetes third_party/forked/golang/expansion).
 */
export function expandVariables(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name?: string) => {
    if (name === undefined) return '$';
    return Object.hasOwn(env, name) ? env[name]! : match;
  });
}
