#!/usr/bin/env node
// Adds the lockfile entries of platform-specific optional packages (turbo's and jest's native
// binaries for macOS, Windows, ...) that npm could not record because the registry this
// project's machines reach serves only the Linux builds. Without those entries `npm ci` refuses
// the lockfile as out of sync. Each entry carries the os/cpu/libc its name declares, so npm
// skips it on every other platform; nothing is downloaded for it here.
//
//   node scripts/complete-lockfile.mjs [--check]
//
// --check: change nothing; exit 1 and list what is missing.
import fs from 'node:fs';

const LOCKFILE = new URL('../package-lock.json', import.meta.url);
const OS_NAMES = {
  darwin: 'darwin',
  linux: 'linux',
  win32: 'win32',
  windows: 'win32',
  freebsd: 'freebsd',
  android: 'android',
  openharmony: 'openharmony',
  sunos: 'sunos',
  aix: 'aix',
  netbsd: 'netbsd',
  openbsd: 'openbsd',
};
const CPU_NAMES = {
  x64: 'x64',
  64: 'x64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: 'ia32',
  loong64: 'loong64',
  ppc64: 'ppc64',
  riscv64: 'riscv64',
  s390x: 's390x',
  wasm32: 'wasm32',
};

/** The platform a package's name declares, e.g. @turbo/darwin-arm64, or undefined. */
export function platformOf(name) {
  const words = name.split('/').pop().split('-');
  const os = words.map((w) => OS_NAMES[w]).find(Boolean);
  const cpu = words.map((w) => CPU_NAMES[w]).find(Boolean);
  if (!os || !cpu) return undefined;
  const libc = words.includes('musl')
    ? ['musl']
    : words.includes('gnu') || words.includes('gnueabihf')
      ? ['glibc']
      : undefined;
  return { os: [os], cpu: [cpu], ...(libc && os === 'linux' ? { libc } : {}) };
}

const lock = JSON.parse(fs.readFileSync(LOCKFILE, 'utf8'));
const missing = [];
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    if (lock.packages[target]) continue;
    const platform = platformOf(name);
    if (!platform)
      throw new Error(`${location}: optional ${name} is missing and names no platform`);
    missing.push(target);
    lock.packages[target] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...platform,
    };
  }
}

if (process.argv.includes('--check')) {
  if (missing.length > 0) {
    console.error(
      `package-lock.json lacks ${missing.length} platform entries (run node scripts/complete-lockfile.mjs):\n  ${missing.join('\n  ')}`,
    );
    process.exit(1);
  }
} else if (missing.length > 0) {
  lock.packages = Object.fromEntries(
    Object.entries(lock.packages).sort(([a], [b]) =>
      a === '' ? -1 : b === '' ? 1 : a.localeCompare(b),
    ),
  );
  fs.writeFileSync(LOCKFILE, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`added ${missing.length} platform entries to package-lock.json`);
}
