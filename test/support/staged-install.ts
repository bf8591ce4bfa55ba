// healthcast as another user can run it. Tests that start the agent or the CLI as user nobody cannot use the
// checkout's bin/healthcast: a clone under /root (mode 0700) or any directory others cannot traverse is out of that
// user's reach ("Cannot find module"). The same tree the Debian package installs is staged, once per test process, in
// a directory of its own under the system's temporary directory, readable by everyone, and removed when the process exits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stageInstallTree } from '../../scripts/package/install-tree.js';
import { repoRoot } from './paths.js';

let staged: string | undefined;

// The staged bin/healthcast (its shebang and flags are the checkout's).
export function stagedHealthcastBin(): string {
  if (staged === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'healthcast-staged-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    stageInstallTree({ repoRoot, dest: dir });
    staged = path.join(dir, 'bin', 'healthcast');
  }
  return staged;
}
