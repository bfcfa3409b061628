/**
 * The authentication part of a built service's environment for a test: the tokens the test
 * gives, or else the explicit opt-out (the services refuse to start with neither). Most tests
 * are about billing and charging; the ones about authentication set the tokens themselves.
 * `service` is a catalogue service: its variables are `<SERVICE>_API_TOKENS` and `<SERVICE>_AUTH`.
 */
export function authUnlessTokens(
  service: string,
  env: Record<string, string | undefined>,
): Record<string, string> {
  const prefix = service.toUpperCase();
  return env[`${prefix}_API_TOKENS`] === undefined ? { [`${prefix}_AUTH`]: 'disabled' } : {};
}
