// The version healthcast reports (--version, status, healthcast_build_info): package.json's, the one place it is set.
import { readFileSync } from 'node:fs';

let cached: string | undefined;

// dist/src/version.js -> <repo>/package.json; 'unknown' when the package was installed without it.
export function packageVersion(): string {
  if (cached === undefined) {
    try {
      cached = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
