import { exposures, objectsOfKind, parseRendered } from '../src/rendered';

const RENDERED = `
apiVersion: v1
kind: Service
metadata: { name: front, namespace: team-one }
spec:
  type: NodePort
  ports: [{ port: 8000, nodePort: 30080 }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: front, namespace: team-one }
spec:
  template:
    spec:
      containers:
        - env:
            - name: PLAIN
              value: x
            - name: FRONT_API_TOKENS
              valueFrom: { secretKeyRef: { name: front-api-tokens, key: tokens } }
---
apiVersion: v1
kind: Service
metadata: { name: back, namespace: team-two }
spec:
  ports: [{ port: 9000 }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: team-two }
spec:
  ports: [{ port: 80 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web-ingress, namespace: team-two }
spec:
  rules:
    - host: web.example.com
      http: { paths: [{ backend: { service: { name: web } } }] }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: store, namespace: team-two }
`;

describe('what a rendered environment exposes', () => {
  const objects = parseRendered(RENDERED);

  it('reads every document', () => {
    expect(objects.map((o) => o.kind)).toEqual([
      'Service',
      'Deployment',
      'Service',
      'Service',
      'Ingress',
      'StatefulSet',
    ]);
  });

  it('finds NodePort Services and Ingress backends, with the Secret of API tokens their Deployment reads', () => {
    expect(exposures(objects)).toEqual([
      {
        service: 'front',
        namespace: 'team-one',
        port: 8000,
        nodePort: 30080,
        ingress: undefined,
        tokens: { secret: 'front-api-tokens', key: 'tokens' },
      },
      {
        service: 'web',
        namespace: 'team-two',
        port: 80,
        nodePort: undefined,
        ingress: 'web-ingress',
        tokens: undefined,
      },
    ]);
  });

  it('lists the objects of a kind to wait for', () => {
    expect(objectsOfKind(objects, 'StatefulSet')).toEqual([
      { namespace: 'team-two', name: 'store' },
    ]);
    expect(objectsOfKind(objects, 'Rollout')).toEqual([]);
  });
});
