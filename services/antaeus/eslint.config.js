module.exports = [
  ...require('@internal/eslint-config'),
  {
    // What a charge came to is billing's own vocabulary: the HTTP client imports it from the
    // billing domain, never the other way round.
    files: ['src/billing/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '../payment-client/client',
              importNames: ['ChargeOutcome'],
              message: 'ChargeOutcome is defined in billing/model.ts.',
            },
          ],
        },
      ],
    },
  },
];
