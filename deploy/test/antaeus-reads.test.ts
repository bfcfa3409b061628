import { containerEnv, podTemplates, renderEnv } from './support/manifests';

// Customer and invoice data is protected where it is real: staging and prod Antaeus require a
// token on every read (ANTAEUS_PROTECT_READS); dev stays open for the reviewer's curl calls.
const PROTECTED_READS: Record<string, string | undefined> = {
  dev: undefined,
  staging: 'true',
  prod: 'true',
};

describe.each(Object.entries(PROTECTED_READS))('the %s environment', (env, expected) => {
  it(`renders Antaeus with ANTAEUS_PROTECT_READS=${expected ?? 'unset'}`, () => {
    const objects = renderEnv(env);
    const pod = podTemplates(objects).find(
      (p) => p.workload.kind === 'Deployment' && p.workload.metadata.name === 'antaeus',
    )!;
    expect(pod.namespace).toBe(`billing-${env}`);
    const { values } = containerEnv(objects, pod.namespace, pod.spec.containers[0]!);
    expect(values.ANTAEUS_PROTECT_READS).toBe(expected);
  });
});
