// The implementation is shared with scripts/generate-applicationsets.mjs, which writes the
// manifest-generate-paths these tests check.
export { renderedDirectories } from '@internal/catalogue';
