// A Jest setup file in every workspace (see jest-config.ts): each test file, in whichever worker
// runs it, fails at once when Jest runs on another Node than the one the project pins, instead
// of passing on a runtime the images do not use.
import { runtimeMismatch } from './runtime';

const mismatch = runtimeMismatch(process.version);
if (mismatch) throw new Error(mismatch);
