import Joi from 'joi';
import { ConfigError, envRules, parseEnv } from '../src';

const schema = Joi.object({
  PORT: envRules.port(8080),
  API_KEY: Joi.string().min(12),
  LOG_LEVEL: envRules.logLevel(),
});

describe('parseEnv', () => {
  it('applies defaults and treats empty variables as unset', () => {
    expect(parseEnv(schema, { PORT: '' })).toMatchObject({ PORT: 8080, LOG_LEVEL: 'info' });
  });

  it('reports every problem at once, naming each variable and the value given', () => {
    const run = () => parseEnv(schema, { PORT: '0', LOG_LEVEL: 'chatty' });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/PORT must be greater than or equal to 1 \(got 0\)/);
    expect(run).toThrow(/LOG_LEVEL must be one of .* \(got "chatty"\)/);
  });

  it('never echoes the value of a secret variable', () => {
    let message = '';
    try {
      parseEnv(schema, { API_KEY: 'too-short' }, { secrets: ['API_KEY'] });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/API_KEY length must be at least 12 characters long/);
    expect(message).not.toContain('too-short');
  });
});
