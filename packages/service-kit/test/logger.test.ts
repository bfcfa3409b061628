import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { censorSecrets, createLogger, isoTimeStamp } from '../src/logger';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger('svc', 'info', sink), lines };
}

describe('isoTimeStamp', () => {
  afterEach(() => jest.restoreAllMocks());

  it("writes pino's isoTime text, formatted anew when the millisecond changes", () => {
    const now = jest.spyOn(Date, 'now');
    for (const ms of [1_796_100_000_000, 1_796_100_000_000, 1_796_100_000_001, 0]) {
      now.mockReturnValue(ms);
      const stamp = isoTimeStamp();
      now.mockReturnValue(ms);
      expect(stamp).toBe(pino.stdTimeFunctions.isoTime());
    }
  });
});

describe('createLogger', () => {
  it('writes JSON lines with the service, a level label and an ISO time', () => {
    const { logger, lines } = capture();
    logger.info({ orderId: 7 }, 'hello');
    expect(lines).toEqual([
      {
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        service: 'svc',
        orderId: 7,
        msg: 'hello',
      },
    ]);
  });

  it('censors credential fields at the top level, one level down and in child bindings', () => {
    const { logger, lines } = capture();
    const headers = { authorization: 'Bearer s3cret-header', accept: 'application/json' };
    const grandchild = logger
      .child({ apiToken: 's3cret-binding' })
      .child({ authorization: 's3cret-grandchild' });
    grandchild.warn(
      {
        token: 's3cret-top',
        tokens: ['s3cret-list'],
        headers,
        nested: { deeper: { token: 'kept' } },
      },
      'careful',
    );
    const text = JSON.stringify(lines);
    expect(text).not.toMatch(/s3cret/);
    expect(lines[0]).toMatchObject({
      apiToken: '[redacted]',
      authorization: '[redacted]',
      token: '[redacted]',
      tokens: '[redacted]',
      headers: { authorization: '[redacted]', accept: 'application/json' },
      // Like pino's `*.token` paths, only one level down is censored.
      nested: { deeper: { token: 'kept' } },
    });
    // The caller's objects are left alone.
    expect(headers.authorization).toBe('Bearer s3cret-header');
  });

  it('keeps an error serialised as an error when one of its fields is censored', () => {
    const { logger, lines } = capture();
    const err = Object.assign(new Error('upstream refused'), { token: 's3cret-err', code: 'E1' });
    logger.error({ err }, 'failed');
    expect(lines[0]!.err).toMatchObject({
      type: 'Error',
      message: 'upstream refused',
      stack: expect.stringContaining('upstream refused'),
      token: '[redacted]',
      code: 'E1',
    });
    expect(err.token).toBe('s3cret-err');
  });
});

describe('censorSecrets', () => {
  it('returns the same object when nothing is secret, without copying', () => {
    const fields = { a: 1, list: new Array(5).fill({ token: 'not looked at' }), nested: { b: 2 } };
    expect(censorSecrets(fields)).toBe(fields);
  });
});

describe('the default, buffered stdout destination', () => {
  /** Runs a script in a real Node process and returns what it wrote on stdout. */
  function stdoutOf(script: string): string {
    const result = spawnSync(process.execPath, ['-e', script], {
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
    });
    return result.stdout;
  }

  it.each([
    ['process.exit()', 'process.exit(0)'],
    ['an uncaught exception', "setTimeout(() => { throw new Error('boom'); }, 1)"],
    ['the event loop running dry', ''],
  ])('writes out every buffered line on %s', (_name, ending) => {
    const out = stdoutOf(
      `const { createLogger } = require('./dist/logger');
       const logger = createLogger('svc');
       for (let i = 0; i < 5; i += 1) logger.info({ i }, 'line');
       ${ending}`,
    );
    const lines = out
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { i: number });
    expect(lines.map((line) => line.i)).toEqual([0, 1, 2, 3, 4]);
  });
});
