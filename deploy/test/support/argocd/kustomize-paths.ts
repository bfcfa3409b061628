// The implementation `delivery generate` writes the manifest-generate-paths with, which these
// tests check.
export { renderedDirectories } from '@internal/delivery';
