import fs from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import Joi from 'joi';
import { ConfigError } from './config';
import type { Logger } from './logger';

/**
 * Where one side of a TLS connection finds its certificate, its key and the CA it trusts for
 * the other side. cert-manager writes these files into a mounted Secret and replaces them on
 * renewal, so they are read again while the process runs (watchTls).
 */
export interface TlsFiles {
  certFile?: string;
  keyFile?: string;
  /** The CA the peer's certificate must chain to. */
  caFile?: string;
}

/** The environment variables naming TlsFiles' three files, for messages that name them. */
export interface TlsVariables {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** What the files hold, read and checked. */
export interface TlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  /** When the certificate expires. */
  notAfter?: Date;
}

const path = () => Joi.string().max(4_096);

/** Joi rules for the three variables, to spread into a service's schema. */
export function tlsRules(names: TlsVariables) {
  return { [names.certFile]: path(), [names.keyFile]: path(), [names.caFile]: path() };
}

/**
 * The files a validated environment names. A certificate and its key come together or not at
 * all; `requireCert` says whether a CA alone makes sense (a client may only verify the server).
 */
export function readTlsFiles(
  raw: Record<string, unknown>,
  names: TlsVariables,
  { caNeedsCert }: { caNeedsCert: boolean },
): TlsFiles | undefined {
  const files: TlsFiles = {
    certFile: raw[names.certFile] as string | undefined,
    keyFile: raw[names.keyFile] as string | undefined,
    caFile: raw[names.caFile] as string | undefined,
  };
  if (!files.certFile && !files.keyFile && !files.caFile) return undefined;
  const problems: string[] = [];
  if (Boolean(files.certFile) !== Boolean(files.keyFile)) {
    problems.push(`${names.certFile} and ${names.keyFile} must be set together`);
  }
  if (caNeedsCert && files.caFile && !files.certFile) {
    problems.push(`${names.caFile} needs ${names.certFile} and ${names.keyFile}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return files;
}

function readFile(file: string, variable: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable' : code;
    throw new ConfigError([`${variable} ${file}: ${why}`]);
  }
}

function certificate(pem: Buffer, variable: string, file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ConfigError([`${variable} ${file} is not a PEM certificate`]);
  }
}

/**
 * Reads and checks the files: each exists and parses, the key belongs to the certificate, the
 * certificate is valid now and, when a CA is given with it, issued by that CA (each side
 * trusts the one internal CA of its environment). Every problem names its variable and file.
 */
export function loadTls(files: TlsFiles, names: TlsVariables, now = new Date()): TlsMaterial {
  const material: TlsMaterial = {};
  let ca: X509Certificate | undefined;
  if (files.caFile) {
    material.ca = readFile(files.caFile, names.caFile);
    ca = certificate(material.ca, names.caFile, files.caFile);
  }
  if (files.certFile && files.keyFile) {
    material.cert = readFile(files.certFile, names.certFile);
    material.key = readFile(files.keyFile, names.keyFile);
    const cert = certificate(material.cert, names.certFile, files.certFile);
    let key;
    try {
      key = createPrivateKey(material.key);
    } catch {
      throw new ConfigError([`${names.keyFile} ${files.keyFile} is not a PEM private key`]);
    }
    if (!cert.checkPrivateKey(key)) {
      throw new ConfigError([
        `${names.keyFile} ${files.keyFile} is not the key of the certificate in ${names.certFile}`,
      ]);
    }
    const notBefore = new Date(cert.validFrom);
    material.notAfter = new Date(cert.validTo);
    if (material.notAfter <= now) {
      throw new ConfigError([
        `${names.certFile} ${files.certFile} expired at ${material.notAfter.toISOString()}`,
      ]);
    }
    if (notBefore > now) {
      throw new ConfigError([
        `${names.certFile} ${files.certFile} is not valid before ${notBefore.toISOString()}`,
      ]);
    }
    if (ca && !cert.checkIssued(ca)) {
      throw new ConfigError([
        `${names.certFile} ${files.certFile} was not issued by the CA in ${names.caFile} (${ca.subject.replace(/\n/g, ', ')})`,
      ]);
    }
  }
  return material;
}

/** The files' modification times and sizes: cheap to read, and they change on every rewrite. */
function stamp(files: TlsFiles): string {
  return [files.certFile, files.keyFile, files.caFile]
    .map((file) => {
      if (!file) return '';
      try {
        const stat = fs.statSync(file);
        return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * Reads the files again whenever they change (checked every `intervalMs`) and hands the new
 * material to `apply`. Renewed files that do not check out yet (half written, key and
 * certificate from different renewals) are logged and skipped: the current material stays in
 * use until a consistent set arrives. Returns a function that stops watching.
 */
export function watchTls(
  files: TlsFiles,
  names: TlsVariables,
  apply: (material: TlsMaterial) => void,
  logger: Logger,
  intervalMs = 5_000,
): () => void {
  let seen = stamp(files);
  const timer = setInterval(() => {
    const now = stamp(files);
    if (now === seen) return;
    try {
      const material = loadTls(files, names);
      apply(material);
      seen = now;
      logger.info({ notAfter: material.notAfter?.toISOString() }, 'TLS files reloaded');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'TLS files changed but do not check out yet');
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
