import Joi from 'joi';

/** Raised when the environment does not describe a runnable service; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface ParseEnvOptions {
  /** Variables whose values are credentials: a problem with them never echoes the value. */
  secrets?: string[];
}

/**
 * Validates environment variables against a Joi schema whose keys are the variable names.
 * Every problem is reported at once, each naming the variable, what is allowed and what was
 * given (except for secrets).
 */
export function parseEnv<T>(
  schema: Joi.ObjectSchema<T>,
  env: NodeJS.ProcessEnv = process.env,
  { secrets = [] }: ParseEnvOptions = {},
): T {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const { value, error } = schema
    .unknown(true)
    .prefs({ convert: true, abortEarly: false, errors: { wrap: { label: false } } })
    .validate(present);
  if (error) {
    throw new ConfigError(
      error.details.map((d) => {
        const given = d.context?.value;
        const secret = secrets.includes(String(d.path[0]));
        return given === undefined || secret
          ? d.message
          : `${d.message} (got ${JSON.stringify(given)})`;
      }),
    );
  }
  return value as T;
}

/** Shared variable rules so both services describe them the same way. */
export const envRules = {
  port: (fallback: number) => Joi.number().integer().min(1).max(65535).default(fallback),
  /** OPS_PORT: the plain-HTTP port for probes and metrics (serve's opsPort); off when unset. */
  opsPort: () =>
    Joi.number()
      .integer()
      .min(1)
      .max(65535)
      .invalid(Joi.ref('PORT'))
      .messages({ 'any.invalid': 'OPS_PORT must differ from PORT' }),
  /** The listening address: every interface by default (a container), 127.0.0.1 for local use. */
  host: () => Joi.string().ip().default('0.0.0.0'),
  logLevel: () =>
    Joi.string()
      .valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent')
      .default('info'),
  milliseconds: (fallback: number, max = 600_000) =>
    Joi.number().integer().min(0).max(max).default(fallback),
};
