// Every local directory whose contents can change what `kustomize build <dir>` renders. Used by
// `delivery generate` for the ApplicationSets' manifest-generate-paths, and by the Argo CD tests
// that check them (through @internal/delivery) and the lab's.
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

function readKustomization(dir) {
  for (const name of KUSTOMIZATION_FILES) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
  }
  throw new Error(`${dir} has no kustomization.yaml`);
}

const strings = (value) =>
  Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];

const pathsOf = (value) =>
  Array.isArray(value)
    ? value.flatMap((item) =>
        typeof item === 'object' && item !== null && typeof item.path === 'string'
          ? [item.path]
          : [],
      )
    : [];

/** Files a generator reads: `files` entries may be `key=path`, `envs` are paths. */
function generatorFiles(value) {
  if (!Array.isArray(value)) return [];
  return value.flatMap((generator) => [
    ...strings(generator.files).map((entry) => entry.slice(entry.indexOf('=') + 1)),
    ...strings(generator.envs),
    ...(typeof generator.env === 'string' ? [generator.env] : []),
  ]);
}

function isRemote(reference) {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(reference) ||
    reference.startsWith('git@') ||
    reference.startsWith('github.com/')
  );
}

/**
 * The kustomization's own directory and, recursively, the directories of its resources,
 * components, patches and generator inputs, sorted. A remote reference is an error, since a
 * commit here could not refresh it.
 */
function renderedDirectories(dir) {
  const seen = new Set();
  const visit = (current) => {
    const absolute = path.resolve(current);
    if (seen.has(absolute)) return;
    seen.add(absolute);
    const kustomization = readKustomization(absolute);
    const references = [
      ...strings(kustomization.resources),
      ...strings(kustomization.components),
      ...strings(kustomization.bases),
    ];
    const files = [
      ...pathsOf(kustomization.patches),
      ...pathsOf(kustomization.patchesJson6902),
      ...pathsOf(kustomization.replacements),
      ...strings(kustomization.patchesStrategicMerge).filter((entry) => !entry.includes('\n')),
      ...strings(kustomization.crds),
      ...generatorFiles(kustomization.configMapGenerator),
      ...generatorFiles(kustomization.secretGenerator),
    ];
    for (const reference of [...references, ...files]) {
      if (isRemote(reference)) throw new Error(`${absolute} renders the remote ${reference}`);
      const target = path.resolve(absolute, reference);
      if (!fs.existsSync(target))
        throw new Error(`${absolute} references ${reference}, which does not exist`);
      if (fs.statSync(target).isDirectory()) visit(target);
      else seen.add(path.dirname(target));
    }
  };
  visit(dir);
  return [...seen].sort();
}

module.exports = { renderedDirectories };
