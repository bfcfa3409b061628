/**
 * GitHub's CODEOWNERS matching: gitignore-style patterns, and the last matching line decides
 * the owners of a path (an earlier, broader line is overridden, not merged).
 */
export interface OwnershipRule {
  pattern: string;
  owners: string[];
  line: number;
  matches(path: string): boolean;
}

function patternRegex(pattern: string): RegExp {
  if (pattern === '*') return /^.*$/;
  const directoryOnly = pattern.endsWith('/');
  const trimmed = pattern.replace(/^\//, '').replace(/\/$/, '');
  const anchored = pattern.startsWith('/') || trimmed.includes('/');
  const body = trimmed
    .split(/(\*\*|\*|\?)/)
    .map((part) => {
      if (part === '**') return '.*';
      if (part === '*') return '[^/]*';
      if (part === '?') return '[^/]';
      return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`${anchored ? '^' : '^(?:.*/)?'}${body}${directoryOnly ? '/.*' : '(?:/.*)?'}$`);
}

export function parseCodeowners(text: string): OwnershipRule[] {
  return text.split('\n').flatMap((raw, index) => {
    const content = raw.replace(/(^|\s)#.*$/, '').trim();
    if (content === '') return [];
    const [pattern, ...owners] = content.split(/\s+/) as [string, ...string[]];
    const regex = patternRegex(pattern);
    return [{ pattern, owners, line: index + 1, matches: (path: string) => regex.test(path) }];
  });
}

/** The rule that decides a path's owners, or undefined when no line matches. */
export function decidingRule(rules: OwnershipRule[], path: string): OwnershipRule | undefined {
  return [...rules].reverse().find((rule) => rule.matches(path));
}
