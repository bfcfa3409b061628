/**
 * Glob matching with the semantics Argo CD's RBAC uses (gobwas/glob compiled without separators):
 * `*` matches any run of characters including `/`, `?` one character, `[abc]`, `[a-z]` and `[!abc]`
 * a character class, `{a,b}` alternatives, and `\` escapes the next character. A pattern that does
 * not compile matches nothing, as in Argo CD.
 */
export function globMatch(value: string, pattern: string): boolean {
  const regex = compile(pattern);
  return regex !== null && regex.test(value);
}

const compiled = new Map<string, RegExp | null>();

function compile(pattern: string): RegExp | null {
  if (!compiled.has(pattern)) {
    let source: string | null;
    try {
      source = translate(pattern);
    } catch {
      source = null;
    }
    compiled.set(pattern, source === null ? null : new RegExp(`^${source}$`, 's'));
  }
  return compiled.get(pattern) ?? null;
}

function escapeRegex(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function translate(pattern: string): string {
  let out = '';
  let braceDepth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === '\\') {
      i++;
      if (i >= pattern.length) throw new Error('dangling escape');
      out += escapeRegex(pattern.charAt(i));
    } else if (char === '*') {
      out += '.*';
    } else if (char === '?') {
      out += '.';
    } else if (char === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw new Error('unclosed character class');
      let body = pattern.slice(i + 1, end);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      if (body === '') throw new Error('empty character class');
      out += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else if (char === '{') {
      braceDepth++;
      out += '(?:';
    } else if (char === '}' && braceDepth > 0) {
      braceDepth--;
      out += ')';
    } else if (char === ',' && braceDepth > 0) {
      out += '|';
    } else {
      out += escapeRegex(char);
    }
  }
  if (braceDepth !== 0) throw new Error('unclosed alternatives');
  return out;
}
