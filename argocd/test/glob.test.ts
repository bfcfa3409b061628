import { globMatch } from '../src/glob';

describe('globMatch follows Argo CD RBAC glob semantics', () => {
  test.each([
    ['payments/payment-dev', 'payments/*', true],
    ['payments/team/payment-dev', 'payments/*', true],
    ['payments/payment-dev', '*/*', true],
    ['payments', '*/*', false],
    ['payments/payment-prod', 'payments/*-dev', false],
    ['payments/payment-dev', 'payments/payment-de?', true],
    ['payments/payment-dev', 'payments/payment-d[a-f]v', true],
    ['payments/payment-dov', 'payments/payment-d[!o]v', false],
    ['payments/payment-staging', 'payments/payment-{dev,staging}', true],
    ['payments/payment-prod', 'payments/payment-{dev,staging}', false],
    ['action/apps/Deployment/restart', 'action/*', true],
    ['sync', 'sync', true],
    ['sync', 'syn', false],
    ['a.b', 'a.b', true],
    ['axb', 'a.b', false],
    ['a*b', 'a\\*b', true],
    ['axb', 'a\\*b', false],
  ])('%s against %s -> %p', (value, pattern, expected) => {
    expect(globMatch(value, pattern)).toBe(expected);
  });

  test.each(['payments/[abc', 'payments/{dev,staging', 'trailing\\'])(
    'the invalid pattern %s matches nothing',
    (pattern) => {
      expect(globMatch('payments/[abc', pattern)).toBe(false);
      expect(globMatch('anything', pattern)).toBe(false);
    },
  );
});
