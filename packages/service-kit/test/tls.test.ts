import fs from 'node:fs';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import Koa from 'koa';
import { createTestCa, jsonLineSink, sleep, type TestCa } from '@internal/test-kit';
import {
  ConfigError,
  Lifecycle,
  createLogger,
  loadTls,
  readTlsFiles,
  serve,
  type RunningServer,
  type TlsFiles,
} from '../src';

const NAMES = { certFile: 'TLS_CERT_FILE', keyFile: 'TLS_KEY_FILE', caFile: 'TLS_CLIENT_CA_FILE' };
const LOCAL = 'IP:127.0.0.1,DNS:localhost';

let ca: TestCa;
let otherCa: TestCa;

beforeAll(() => {
  ca = createTestCa('internal-ca');
  otherCa = createTestCa('other-ca');
});

afterAll(() => {
  ca?.remove();
  otherCa?.remove();
});

const configError = (files: TlsFiles): string => {
  try {
    loadTls(files, NAMES);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('TLS configuration', () => {
  it('reads a certificate, its key and a CA that issued it, with the expiry', () => {
    const server = ca.issue('config-server', { san: LOCAL });
    const material = loadTls({ ...server, caFile: ca.certFile }, NAMES);
    expect(material.notAfter!.getTime()).toBeGreaterThan(Date.now());
    expect(material.ca!.toString()).toContain('BEGIN CERTIFICATE');
  });

  it('names the variable and file of a missing file', () => {
    const server = ca.issue('missing-key');
    expect(configError({ ...server, keyFile: '/nonexistent/tls.key' })).toMatch(
      'TLS_KEY_FILE /nonexistent/tls.key: no such file',
    );
  });

  it('refuses a file that is not a certificate or not a key', () => {
    const server = ca.issue('garbled');
    expect(configError({ ...server, certFile: server.keyFile })).toMatch(
      /TLS_CERT_FILE .* is not a PEM certificate/,
    );
    expect(configError({ ...server, keyFile: server.certFile })).toMatch(
      /TLS_KEY_FILE .* is not a PEM private key/,
    );
  });

  it("refuses a key that is not the certificate's", () => {
    const one = ca.issue('pair-one');
    const two = ca.issue('pair-two');
    expect(configError({ certFile: one.certFile, keyFile: two.keyFile })).toMatch(
      /TLS_KEY_FILE .*pair-two.key is not the key of the certificate in TLS_CERT_FILE/,
    );
  });

  it('refuses an expired certificate, saying when it expired', () => {
    const expired = ca.issue('expired', {
      startDate: '20200101000000Z',
      endDate: '20200102000000Z',
    });
    expect(configError(expired)).toMatch(
      /TLS_CERT_FILE .*expired.crt expired at 2020-01-02T00:00:00.000Z/,
    );
  });

  it('refuses a certificate another CA issued (the wrong CA)', () => {
    const foreign = otherCa.issue('foreign');
    expect(configError({ ...foreign, caFile: ca.certFile })).toMatch(
      /TLS_CERT_FILE .*foreign.crt was not issued by the CA in TLS_CLIENT_CA_FILE \(CN=internal-ca\)/,
    );
  });

  it('needs the certificate and key together, and a server CA only with them', () => {
    expect(() => readTlsFiles({ TLS_CERT_FILE: '/a.crt' }, NAMES, { caNeedsCert: true })).toThrow(
      'TLS_CERT_FILE and TLS_KEY_FILE must be set together',
    );
    expect(() =>
      readTlsFiles({ TLS_CLIENT_CA_FILE: '/ca.crt' }, NAMES, { caNeedsCert: true }),
    ).toThrow('TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE');
    expect(readTlsFiles({ TLS_CLIENT_CA_FILE: '/ca.crt' }, NAMES, { caNeedsCert: false })).toEqual({
      caFile: '/ca.crt',
    });
    expect(readTlsFiles({}, NAMES, { caNeedsCert: true })).toBeUndefined();
  });
});

describe('serve() with mutual TLS', () => {
  let running: RunningServer;
  let serverFiles: TlsFiles;
  let handled = 0;
  const { sink, lines } = jsonLineSink();

  beforeAll(async () => {
    serverFiles = ca.issue('mtls-server', { san: LOCAL });
    const app = new Koa();
    app.use(async (ctx) => {
      handled += 1;
      if (ctx.path === '/slow') await sleep(800);
      ctx.body = { ok: true };
    });
    running = await serve({
      app,
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('tls-test', 'info', sink),
      lifecycle: new Lifecycle(),
      drainDelayMs: 0,
      shutdownTimeoutMs: 1_000,
      tls: { files: { ...serverFiles, caFile: ca.certFile }, names: NAMES, reloadIntervalMs: 100 },
      opsPort: 0,
    });
  });

  afterAll(() => running.shutdown('test over'));

  /** One request on a new connection; resolves with the status and the server certificate's serial. */
  function call(path: string, client?: { certFile: string; keyFile: string }, trust = ca.certFile) {
    return new Promise<{ status: number; serial: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: running.port,
          path,
          agent: false,
          ca: fs.readFileSync(trust),
          ...(client && {
            cert: fs.readFileSync(client.certFile),
            key: fs.readFileSync(client.keyFile),
          }),
        },
        (res) => {
          const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, serial }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('serves a client with a certificate from the CA', async () => {
    const client = ca.issue('antaeus', { san: 'DNS:antaeus' });
    expect((await call('/', client)).status).toBe(200);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'listening', tls: 'mutual' }));
  });

  it('refuses a client without a certificate at the handshake: no request reaches the app', async () => {
    const before = handled;
    await expect(call('/')).rejects.toThrow(/certificate required|socket hang up|ECONNRESET/i);
    expect(handled).toBe(before);
  });

  it('refuses a client whose certificate another CA issued', async () => {
    const before = handled;
    const foreign = otherCa.issue('impostor');
    await expect(call('/', foreign)).rejects.toThrow(/unknown ca|socket hang up|ECONNRESET/i);
    expect(handled).toBe(before);
  });

  it('answers the probes and /metrics on the ops port in plain HTTP, without a client certificate', async () => {
    expect(running.opsPort).toBeGreaterThan(0);
    expect(running.opsPort).not.toBe(running.port);
    for (const path of ['/healthz', '/readyz', '/metrics?x=1']) {
      const response = await fetch(`http://127.0.0.1:${running.opsPort}${path}`);
      expect([path, response.status]).toEqual([path, 200]);
    }
  });

  it('serves nothing else on the ops port: a charge path is 404 there and never reaches the app', async () => {
    const before = handled;
    const response = await fetch(`http://127.0.0.1:${running.opsPort}/v1/charges`, {
      method: 'POST',
      body: '{}',
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        code: 'not_found',
        message:
          'the ops port serves only /healthz, /readyz, /metrics; /v1/charges is on the service port',
      },
    });
    expect(handled).toBe(before);
  });

  it('picks up a renewed certificate without a restart, and an in-flight request finishes', async () => {
    const client = ca.issue('antaeus-renewal');
    const before = await call('/', client);
    const slow = call('/slow', client);
    await sleep(50);
    // cert-manager renews: new key and certificate under the same paths.
    ca.issue('mtls-server', { san: LOCAL });
    let after = before;
    const deadline = Date.now() + 5_000;
    while (after.serial === before.serial && Date.now() < deadline) {
      await sleep(100);
      after = await call('/', client);
    }
    expect(after.serial).not.toBe(before.serial);
    expect(after.status).toBe(200);
    expect(await slow).toEqual({ status: 200, serial: before.serial });
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'TLS files reloaded' }));
  });
});
