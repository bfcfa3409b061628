import { kubectl } from './support/lab';
import { PAYMENTS, catalogue } from './support/catalogue';
import { PAYMENT_SELECTOR, REDIS_SELECTOR, RUNNING_ENVS, nodeIn, runningPod } from './support/node';

// Payment's Redis requires the password of the payment-redis Secret: a client that does not
// authenticate is refused, payment (which does) is ready, which needs a write to Redis.

/** Redis's answers to the RESP commands, sent in order over one connection from a payment pod. */
function redisAnswers(namespace: string, commands: string[][]): string[] {
  const resp = commands
    .map(
      (words) =>
        `*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`,
    )
    .join('');
  const answer = nodeIn(
    namespace,
    runningPod(namespace, PAYMENT_SELECTOR),
    `const s = require('net').connect(6379, 'payment-redis');
     let out = '';
     s.setTimeout(5000, () => { console.log(out); process.exit(0); });
     s.on('connect', () => s.write(${JSON.stringify(resp)}));
     s.on('data', (d) => { out += d; if (out.split('\\r\\n').length > ${commands.length}) { console.log(out); process.exit(0); } });
     s.on('error', (e) => { console.log('error ' + e.code); process.exit(0); });`,
  );
  return answer.split('\r\n').filter(Boolean);
}

describe.each(RUNNING_ENVS)('%s: payment-redis requires its password', (env) => {
  const namespace = catalogue.namespace(PAYMENTS, env);
  const password = () =>
    Buffer.from(
      kubectl('-n', namespace, 'get', 'secret', 'payment-redis', '-o', 'jsonpath={.data.password}'),
      'base64',
    ).toString();

  test('a client without the password is refused every command', () => {
    const answers = redisAnswers(namespace, [['PING'], ['GET', 'any']]);
    expect(answers).toHaveLength(2);
    for (const answer of answers) expect(answer).toMatch(/^-NOAUTH /);
  });

  test('a wrong password is refused; the Secret’s opens it', () => {
    expect(redisAnswers(namespace, [['AUTH', `${password()}x`], ['PING']])).toEqual([
      expect.stringMatching(/^-WRONGPASS /),
      expect.stringMatching(/^-NOAUTH /),
    ]);
    expect(redisAnswers(namespace, [['AUTH', password()], ['PING']])).toEqual(['+OK', '+PONG']);
  });

  test('payment, which authenticates, is ready: its readiness probe wrote its key', () => {
    // payment's REDIS_KEY_PREFIX is left at its default, payment:
    expect(
      redisAnswers(namespace, [
        ['AUTH', password()],
        ['EXISTS', 'payment:readiness-probe'],
      ]),
    ).toEqual(['+OK', ':1']);
    const pod = runningPod(namespace, PAYMENT_SELECTOR);
    expect(
      kubectl(
        '-n',
        namespace,
        'get',
        'pod',
        pod,
        '-o',
        'jsonpath={.status.containerStatuses[0].ready}',
      ),
    ).toBe('true');
    expect(runningPod(namespace, REDIS_SELECTOR)).toMatch(/^payment-redis-/);
  });
});
