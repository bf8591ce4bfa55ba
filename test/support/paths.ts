// Paths into the source tree from compiled tests (dist/test/...): fixtures are not copied by tsc.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixture = (...parts: string[]) => path.join(repoRoot, 'test', 'fixtures', ...parts);
export const healthcastBin = path.join(repoRoot, 'bin', 'healthcast');
