// In CI a missing prerequisite fails the test; elsewhere the test is skipped, loudly, with the reason.
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

export function missingPrerequisites(requirements: { root?: boolean; commands?: readonly string[] }): string[] {
  const missing: string[] = [];
  if (requirements.root && process.getuid?.() !== 0) missing.push('must run as root (network namespaces, ip address add)');
  for (const command of requirements.commands ?? []) {
    try {
      execFileSync('sh', ['-c', `command -v "$0" >/dev/null 2>&1 || test -x "$0"`, command], { stdio: 'ignore' });
    } catch {
      missing.push(`command not found: ${command}`);
    }
  }
  return missing;
}

// Call at the top of a test: returns false (after skipping) when it cannot run here; throws in CI.
export function requirePrerequisites(t: TestContext, requirements: { root?: boolean; commands?: readonly string[] }): boolean {
  const missing = missingPrerequisites(requirements);
  if (missing.length === 0) return true;
  const message = `prerequisites missing: ${missing.join('; ')} (run scripts/ensure-system-deps.sh as root)`;
  if (inCI) throw new Error(message);
  process.stderr.write(`\n*** SKIPPED "${t.name}": ${message}\n`);
  t.skip(message);
  return false;
}
