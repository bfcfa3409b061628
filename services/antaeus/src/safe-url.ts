/**
 * A URL fit for a log line: without userinfo (`user:password@`), which a provider endpoint
 * may carry as HTTP basic credentials. Something that does not parse is not logged at all.
 */
export function withoutUserinfo(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '[unparseable URL]';
  }
  url.username = '';
  url.password = '';
  return url.toString();
}
