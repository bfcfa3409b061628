import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A certificate and its key, as files. */
export interface IssuedFiles {
  certFile: string;
  keyFile: string;
}

export interface IssueOptions {
  /** Subject alternative names, e.g. `IP:127.0.0.1,DNS:localhost`. */
  san?: string;
  /** `openssl ca` dates (YYYYMMDDHHMMSSZ); one day from now by default. */
  startDate?: string;
  endDate?: string;
}

/** A throwaway certificate authority made with the openssl CLI, as the lab makes its own. */
export interface TestCa {
  dir: string;
  certFile: string;
  /** Issues `name`.crt and `name`.key (P-256), signed by this CA. */
  issue(name: string, options?: IssueOptions): IssuedFiles;
  /** Removes the CA's directory and everything issued into it. */
  remove(): void;
}

const openssl = (args: string[], cwd: string) =>
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

// `openssl ca` rather than `x509 -req`: only it takes explicit validity dates (an expired
// certificate for the tests) on OpenSSL 3.0.
const CA_CONFIG = `[ca]
default_ca = test
[test]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
`;

export function createTestCa(name = 'test-ca'): TestCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  fs.writeFileSync(path.join(dir, 'ca.cnf'), CA_CONFIG);
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'serial'), '01\n');
  openssl(
    ['req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', `/CN=${name}`],
    dir,
  );
  const certFile = path.join(dir, 'ca.crt');
  return {
    dir,
    certFile,
    issue(subject, options = {}) {
      const csr = `${subject}.csr`;
      openssl(
        [
          'req',
          ...newKey,
          '-keyout',
          `${subject}.key`,
          '-out',
          csr,
          '-subj',
          `/CN=${subject}`,
          ...(options.san ? ['-addext', `subjectAltName=${options.san}`] : []),
        ],
        dir,
      );
      openssl(
        [
          'ca',
          '-batch',
          '-notext',
          '-config',
          'ca.cnf',
          '-cert',
          'ca.crt',
          '-keyfile',
          'ca.key',
          '-in',
          csr,
          '-out',
          `${subject}.crt`,
          ...(options.startDate ? ['-startdate', options.startDate] : []),
          ...(options.endDate ? ['-enddate', options.endDate] : ['-days', '1']),
        ],
        dir,
      );
      return {
        certFile: path.join(dir, `${subject}.crt`),
        keyFile: path.join(dir, `${subject}.key`),
      };
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
